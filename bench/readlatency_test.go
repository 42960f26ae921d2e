package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/internal/testbed"
)

// readResult is one kind of read's latency, for one binary and DB path.
type readResult struct {
	bin            fleetBin
	mode, what     string
	preload, n     int
	p50, p99, mean time.Duration
}

// readRequests is how many sequential requests BenchmarkReadLatency times
// per kind of read (BENCH_READ_N).
const readRequests = "300"

// BenchmarkReadLatency: reads of rows other hosts wire (they come from the
// agent's cache in today's design and from select transactions after issue
// 10), over the agent's socket: an idle Linux-bridge agent on the 3-member
// cluster, directly and through a relay, with BENCH_FLEET_PRELOAD
// attachments of other hosts preloaded; each binary (this tree's,
// BENCH_AGENT_BIN's) in the same run.
func BenchmarkReadLatency(b *testing.B) {
	testbed.RequireRoot(b)
	cfg := fleetConfigFromEnv(b)
	n := envInts(b, "BENCH_READ_N", readRequests)[0]
	for range b.N {
		b.StopTimer()
		cluster := testbed.StartQuantumCluster(b, 3)
		pre := preloadFleet(b, cluster.Leader().Endpoint, cfg.preload)
		host := testbed.StartLBHost(b)
		for _, mode := range cfg.modes {
			upstreams := strings.Split(cluster.Endpoints(), ",")
			var relay *testbed.Relay
			if mode == "relay" {
				relay = cluster.StartRelay()
				upstreams = []string{relay.Endpoint}
			}
			for _, bin := range cfg.bins {
				for _, r := range readLatencies(b, bin, host, upstreams, pre, n) {
					r.mode, r.preload = mode, cfg.preload
					recordRead(r)
					b.Logf("%s %s %s: p50 %.2f ms p99 %.2f ms", bin.label, mode, r.what, r.p50.Seconds()*1000, r.p99.Seconds()*1000)
				}
			}
			if relay != nil {
				relay.Stop()
			}
		}
	}
}

// readLatencies starts bin on host and times n requests of each kind of
// read of the first preloaded network (another host's rows).
func readLatencies(b *testing.B, bin fleetBin, host *testbed.LBHost, upstreams []string, pre preloaded, n int) []readResult {
	b.Helper()
	a := startFleetAgent(b, bin.path, host.NetNS, "reader-hv", upstreams)
	defer a.stop()
	if err := waitFleetReady([]*fleetAgent{a}, 10*time.Minute); err != nil {
		b.Fatal(err)
	}
	waitQuiet([]*fleetAgent{a})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	netID, ports := pre.networks[0], pre.firstPorts
	c := a.api
	reads := []struct {
		what string
		do   func(i int) error
	}{
		{"GET a port of another host", func(i int) error {
			_, err := c.GetPort(ctx, tenant, netID, ports[i%len(ports)])
			return err
		}},
		{"GET the attachment of another host's port", func(i int) error {
			_, err := c.GetAttachment(ctx, tenant, netID, ports[i%len(ports)])
			return err
		}},
		{fmt.Sprintf("list the ports of a network (%d)", len(ports)), func(int) error {
			_, err := c.ListPorts(ctx, tenant, netID, nil)
			return err
		}},
		{fmt.Sprintf("list the ports of a network, detail (%d)", len(ports)), func(int) error {
			_, err := c.ListPortsDetail(ctx, tenant, netID, nil)
			return err
		}},
	}
	var out []readResult
	for _, rd := range reads {
		lat := make([]time.Duration, 0, n)
		var sum time.Duration
		for i := range n {
			t0 := time.Now()
			if err := rd.do(i); err != nil {
				b.Fatalf("%s: %s: %v", bin.label, rd.what, err)
			}
			d := time.Since(t0)
			lat = append(lat, d)
			sum += d
		}
		slices.Sort(lat)
		out = append(out, readResult{bin: bin, what: rd.what, n: n, p50: percentile(lat, 50), p99: percentile(lat, 99), mean: sum / time.Duration(n)})
	}
	return out
}
