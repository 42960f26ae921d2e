package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/quantum-agent/quantum-agent/api/client"
)

// reply is a canned response for one "METHOD /path" route.
type reply struct {
	status int
	body   string
}

type request struct {
	Method, Path, Query, Body string
	Key                       string // Idempotency-Key
}

// fakeAgent stands in for quantum-agent on a Unix socket: canned replies per
// route, every request recorded. (api/client's tests have their own; test
// helpers cannot cross packages.)
type fakeAgent struct {
	socket string
	mu     sync.Mutex
	routes map[string]reply
	seen   []request
}

func newFakeAgent(t *testing.T, routes map[string]reply) *fakeAgent {
	t.Helper()
	dir := t.TempDir()
	if len(dir) > 90 { // sun_path is 108 bytes; long subtest names overflow it
		d, err := os.MkdirTemp("", "qctl")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	f := &fakeAgent{socket: filepath.Join(dir, "q.sock"), routes: routes}
	l, err := net.Listen("unix", f.socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return f
}

func (f *fakeAgent) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body),
		Key: r.Header.Get(client.IdempotencyKeyHeader)})
	rep, ok := f.routes[r.Method+" "+r.URL.Path]
	f.mu.Unlock()
	if !ok {
		rep = reply{404, `{"QuantumError":{"type":"NotFound","message":"The resource could not be found.","detail":"no route ` + r.URL.Path + `"}}`}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

func (f *fakeAgent) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.seen...)
}
