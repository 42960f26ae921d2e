package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/quantum-agent/quantum-agent/agent/agenttest"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// Benchmarks of the API as a compute driver sees it: HTTP over the agent's
// Unix socket, the real handler, the real store. Two Quantum DBs: libovsdb's
// in-process server (no root needed) and a real ovsdb-server (root and Open
// vSwitch installed; what production runs). `make bench` runs them.

type benchDB struct {
	name  string
	start func(b *testing.B) string // returns the Quantum DB endpoint
}

func benchDBs() []benchDB {
	dbs := []benchDB{{"inprocess", func(b *testing.B) string { return agenttest.StartServer(b) }}}
	if _, err := exec.LookPath("ovsdb-server"); err == nil {
		dbs = append(dbs, benchDB{"ovsdb-server", func(b *testing.B) string { return testbed.StartQuantumDB(b) }})
	}
	return dbs
}

// benchServer serves the API on a Unix socket and returns an HTTP client
// bound to it.
func benchServer(b *testing.B, endpoint string) *http.Client {
	b.Helper()
	a := agenttest.NewAt(b, endpoint, agenttest.DefaultConfig())
	sock := filepath.Join(testutil.ShortDir(b), "q.sock")
	ln, err := Listen(sock, 0o660, "")
	if err != nil {
		b.Fatal(err)
	}
	srv := NewServer(NewHandler(a, slog.New(slog.NewTextHandler(io.Discard, nil))), slog.New(slog.NewTextHandler(io.Discard, nil)))
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
		MaxIdleConnsPerHost: 64,
	}}
}

func call(b *testing.B, c *http.Client, method, path, body string, want int) string {
	return callKeyed(b, c, method, path, body, "", want)
}

// callKeyed is call with an Idempotency-Key ("" for none).
func callKeyed(b *testing.B, c *http.Client, method, path, body, key string, want int) string {
	req, _ := http.NewRequest(method, "http://quantum"+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	return string(out)
}

func idOf(b *testing.B, body, _ string) string {
	// {"network":{"id":"..."}}: the id is the first quoted UUID.
	i := strings.Index(body, `"id":"`)
	if i < 0 {
		b.Fatalf("no id in %s", body)
	}
	rest := body[i+6:]
	return rest[:strings.IndexByte(rest, '"')]
}

// BenchmarkAPIGetNetworkDetail: GET of one network's detail view (with 10
// ports), requests in parallel as many compute threads would send them.
func BenchmarkAPIGetNetworkDetail(b *testing.B) {
	for _, db := range benchDBs() {
		b.Run(db.name, func(b *testing.B) {
			c := benchServer(b, db.start(b))
			net := idOf(b, call(b, c, "POST", "/v1.1/tenants/t/networks", `{"network":{"name":"bench"}}`, 202), "network")
			for range 10 {
				call(b, c, "POST", "/v1.1/tenants/t/networks/"+net+"/ports", "", 202)
			}
			path := "/v1.1/tenants/t/networks/" + net + "/detail"
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					call(b, c, "GET", path, "", 200)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkAPICreatePortAndPlug: what a compute driver does per VIF: create
// a port, then plug an interface into it (two durable DB transactions).
// BenchmarkAPICreatePortAndPlug: create an ACTIVE port and plug it, without
// and with an Idempotency-Key on both requests (api/client sends one on every
// create and plug: its record is one more row in the same transaction).
func BenchmarkAPICreatePortAndPlug(b *testing.B) {
	for _, db := range benchDBs() {
		for _, keyed := range []bool{false, true} {
			name := db.name
			if keyed {
				name += "/idempotency-key"
			}
			b.Run(name, func(b *testing.B) {
				c := benchServer(b, db.start(b))
				net := idOf(b, call(b, c, "POST", "/v1.1/tenants/t/networks", `{"network":{"name":"bench"}}`, 202), "network")
				var seq atomic.Int64
				key := func(n int64, what string) string {
					if !keyed {
						return ""
					}
					return fmt.Sprintf("bench-%s-%d", what, n)
				}
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						n := seq.Add(1)
						port := idOf(b, callKeyed(b, c, "POST", "/v1.1/tenants/t/networks/"+net+"/ports",
							`{"port":{"state":"ACTIVE"}}`, key(n, "port"), 202), "port")
						callKeyed(b, c, "PUT", "/v1.1/tenants/t/networks/"+net+"/ports/"+port+"/attachment",
							fmt.Sprintf(`{"attachment":{"id":"vif-%d","device":"tap%d"}}`, n, n), key(n, "plug"), 204)
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "plugs/s")
			})
		}
	}
}
