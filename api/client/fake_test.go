package client_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// reply is a canned response for one "METHOD /path" route.
type reply struct {
	status      int
	body        string
	contentType string // default application/json
}

// request is what the fake agent saw.
type request struct {
	Method, Path, Query, Body, ContentType, Accept string
}

// fakeAgent serves canned replies on a Unix socket, as quantum-agent would,
// and records every request so tests can check what the client sent.
type fakeAgent struct {
	socket string
	mu     sync.Mutex
	routes map[string]reply
	seen   []request
}

func newFakeAgent(t *testing.T, routes map[string]reply) *fakeAgent {
	t.Helper()
	f := &fakeAgent{routes: routes}
	f.socket = serveOnSocket(t, http.HandlerFunc(f.serve))
	return f
}

// serveOnSocket serves h on a fresh Unix socket until the test ends and
// returns the socket's path.
func serveOnSocket(t *testing.T, h http.Handler) string {
	t.Helper()
	path := socketPath(t)
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

// socketPath keeps the path under the 108-byte sun_path limit, which a deep
// t.TempDir() for a long subtest name can exceed.
func socketPath(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if len(dir) > 90 {
		d, err := os.MkdirTemp("", "qc")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	return filepath.Join(dir, "q.sock")
}

func (f *fakeAgent) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body),
		ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"),
	})
	rep, ok := f.routes[r.Method+" "+r.URL.Path]
	f.mu.Unlock()
	if !ok {
		rep = reply{status: 404, body: `{"QuantumError":{"type":"NotFound","message":"The resource could not be found.","detail":"no route"}}`}
	}
	ct := rep.contentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

// requests returns a copy of what was seen so far.
func (f *fakeAgent) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.seen...)
}
