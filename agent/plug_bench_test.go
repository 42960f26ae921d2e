package agent_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
)

// BenchmarkPlugIntoNetwork is the cost of one plug into a network that
// already has size plugged ports. On the in-process server (default) its
// work counts too, and its reference tracking grows with the rows that
// reference the network; QA_BENCH_SERVER=ovsdb-server (root) uses a real
// server, so allocs/op are the agent's alone. It uses only the Service API,
// so it runs unchanged on older builds.
func BenchmarkPlugIntoNetwork(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(fmt.Sprintf("ports=%d", size), func(b *testing.B) {
			a := agenttest.NewAt(b, benchServer(b), agenttest.DefaultConfig())
			c := context.Background()
			n, err := a.CreateNetwork(c, "t", agent.NetworkSpec{Name: "big"})
			if err != nil {
				b.Fatal(err)
			}
			preload(b, a, n.ID, size)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if _, err := a.PlugIntoNetwork(c, "t", n.ID, agent.AttachmentSpec{ID: fmt.Sprintf("bench-%d", i)}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// preload plugs size attachments into the network, a few at a time.
func preload(b *testing.B, a *agent.Agent, netID string, size int) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(size); i = next.Add(1) {
				if _, err := a.PlugIntoNetwork(context.Background(), "t", netID, agent.AttachmentSpec{ID: fmt.Sprintf("pre-%d", i)}); err != nil {
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

// benchSizes are the network sizes of BenchmarkPlugIntoNetwork;
// QA_BENCH_PORTS=N runs only N (e.g. to profile one size).
func benchSizes() []int {
	if n, err := strconv.Atoi(os.Getenv("QA_BENCH_PORTS")); err == nil && n > 0 {
		return []int{n}
	}
	return []int{100, 10000}
}

func benchServer(b *testing.B) string {
	if os.Getenv("QA_BENCH_SERVER") == "ovsdb-server" {
		testbed.RequireRoot(b)
		return testbed.StartQuantumDB(b)
	}
	return agenttest.StartServer(b)
}
