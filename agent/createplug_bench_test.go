package agent_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// BenchmarkCreateAndPlug is the cost of one port create plus one plug of
// an attachment of this host into it, with size ports of this host created
// and plugged already (the API's port create + plug, as cmd's load does).
// "api" measures the requests alone; "reconciler" runs this host's
// reconciler too, as the agent does, so the passes each plug wakes compete
// with the requests. QA_BENCH_SERVER=ovsdb-server (root) uses a real server,
// where a where-clause on a column other than _uuid is a scan of the table.
// It uses only the Service API, so it runs unchanged on older builds.
func BenchmarkCreateAndPlug(b *testing.B) {
	for _, size := range benchSizes() {
		for _, mode := range []string{"api", "reconciler"} {
			b.Run(fmt.Sprintf("ports=%d/%s", size, mode), func(b *testing.B) {
				cfg := agenttest.DefaultConfig()
				endpoint, serverCPU := benchServerCPU(b)
				a := agenttest.NewAt(b, endpoint, cfg)
				c := context.Background()
				n, err := a.CreateNetwork(c, "t", agent.NetworkSpec{Name: "big"})
				if err != nil {
					b.Fatal(err)
				}
				preloadPlugged(b, a, n.ID, size)
				if mode == "reconciler" {
					agenttest.StartReconciler(b, a, agenttest.NewDatapath(agent.StatusUp), cfg.Host)
					awaitSettled(b, a, n.ID, size) // its first pass wires the preloaded ports: not timed
				}
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := serverCPU()
				i := 0
				for b.Loop() {
					if err := createAndPlug(a, n.ID, fmt.Sprintf("bench-%d", i)); err != nil {
						b.Fatal(err)
					}
					i++
				}
				if cpu0 >= 0 {
					b.ReportMetric((serverCPU()-cpu0).Seconds()*1e6/float64(i), "server-µs/op")
				}
			})
		}
	}
}

// BenchmarkReconcilePass is the cost of one reconcile pass of a host with
// size plugged ports (UP already, so the pass writes nothing): what each
// change of this host's attachments costs the agent, and a create + plug
// wakes a pass for the plug and one for the status it writes back.
func BenchmarkReconcilePass(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(fmt.Sprintf("ports=%d", size), func(b *testing.B) {
			cfg := agenttest.DefaultConfig()
			a := agenttest.NewAt(b, benchServer(b), cfg)
			c := context.Background()
			n, err := a.CreateNetwork(c, "t", agent.NetworkSpec{Name: "big"})
			if err != nil {
				b.Fatal(err)
			}
			preloadPlugged(b, a, n.ID, size)
			r := agent.NewReconciler(a.Store(), agenttest.NewDatapath(agent.StatusUp), cfg.Host, 0, nil, agenttest.Logger(b))
			if err := agent.ReconcileOnce(c, r); err != nil { // writes UP: not timed
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := agent.ReconcileOnce(c, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchServerCPU is benchServer with a function returning the CPU time the
// real ovsdb-server has used so far (negative on the in-process server,
// whose work is the benchmark's own).
func benchServerCPU(b *testing.B) (string, func() time.Duration) {
	if os.Getenv("QA_BENCH_SERVER") != "ovsdb-server" {
		return benchServer(b), func() time.Duration { return -1 }
	}
	testbed.RequireRoot(b)
	db := testbed.StartQuantumDBAt(b, testutil.ShortDir(b))
	return db.Endpoint, func() time.Duration { return processCPU(b, filepath.Join(db.Dir, "db.pid")) }
}

// processCPU is the user+system CPU time of the process of a pidfile, from
// /proc (in clock ticks of 10 ms, Linux's USER_HZ).
func processCPU(b *testing.B, pidfile string) time.Duration {
	pid, err := os.ReadFile(pidfile)
	if err != nil {
		b.Fatal(err)
	}
	stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	// comm may hold spaces: the fields after the last ')' start at state (3rd).
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// awaitSettled waits until the network's size attachments are all UP.
func awaitSettled(b *testing.B, a *agent.Agent, netID string, size int) {
	b.Helper()
	testutil.Eventually(b, "preloaded attachments UP", time.Minute, func() bool {
		atts, err := a.ListAttachments(context.Background(), "t", netID)
		if err != nil || len(atts) != size {
			return false
		}
		for _, att := range atts {
			if att.Status != agent.StatusUp {
				return false
			}
		}
		return true
	})
}

// createAndPlug creates an ACTIVE port (as bench/ does) and plugs the attachment id into it.
func createAndPlug(a *agent.Agent, netID, id string) error {
	c := context.Background()
	p, err := a.CreatePort(c, "t", netID, agent.PortActive)
	if err != nil {
		return err
	}
	return a.Plug(c, "t", netID, p.ID, agent.AttachmentSpec{ID: id})
}

// preloadPlugged creates and plugs size ports, a few at a time.
func preloadPlugged(b *testing.B, a *agent.Agent, netID string, size int) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(size); i = next.Add(1) {
				if err := createAndPlug(a, netID, fmt.Sprintf("pre-%d", i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
