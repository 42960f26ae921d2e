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
)

// BenchmarkPlugIntoNetwork is the cost of one plug into a network that
// already has size plugged ports (in-process server: its work counts too).
// It uses only the Service API, so it runs unchanged on older builds.
func BenchmarkPlugIntoNetwork(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(fmt.Sprintf("ports=%d", size), func(b *testing.B) {
			a := agenttest.New(b, agenttest.DefaultConfig())
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
