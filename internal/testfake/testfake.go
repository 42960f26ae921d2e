// Package testfake is for tests only: a fake quantum-agent on a Unix
// socket, with canned replies per route and a record of every request, for
// the tests of api/client and quantumctl (test helpers do cross packages,
// through a small package like this one). Production code must not import
// it.
package testfake

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// Reply is a canned response for one "METHOD /path" route.
type Reply struct {
	Status      int
	Body        string
	ContentType string // default application/json
}

// Request is what the fake agent saw of one request.
type Request struct {
	Method, Path, Query, Body, ContentType, Accept string
	Key                                            string // Idempotency-Key
}

// Agent serves canned replies on a Unix socket, as quantum-agent would;
// a route it does not know is a Quantum 404 naming the path.
type Agent struct {
	Socket string
	mu     sync.Mutex
	routes map[string]Reply
	seen   []Request
}

// NewAgent serves routes until the test ends.
func NewAgent(t testing.TB, routes map[string]Reply) *Agent {
	t.Helper()
	a := &Agent{routes: routes}
	a.Socket = Serve(t, http.HandlerFunc(a.serve))
	return a
}

// Serve serves h on a fresh Unix socket until the test ends and returns
// the socket's path.
func Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	path := filepath.Join(testutil.ShortDir(t), "q.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return path
}

func (a *Agent) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.seen = append(a.seen, Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body),
		ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"),
		Key: r.Header.Get(client.IdempotencyKeyHeader),
	})
	rep, ok := a.routes[r.Method+" "+r.URL.Path]
	a.mu.Unlock()
	if !ok {
		rep = Reply{Status: http.StatusNotFound, Body: `{"QuantumError":{"type":"NotFound","message":"The resource could not be found.","detail":"no route ` + r.URL.Path + `"}}`}
	}
	ct := rep.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(rep.Status)
	_, _ = io.WriteString(w, rep.Body)
}

// Requests returns a copy of what was seen so far.
func (a *Agent) Requests() []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Request(nil), a.seen...)
}
