package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// latencyPlugs is how many sequential plugs BenchmarkAttachLatency times.
const latencyPlugs = 200

// BenchmarkAttachLatency: on an otherwise idle agent, 200 plugs one after
// another, each timed from the plug request to its attachment UP (the
// port is created before, untimed); the wait is the wait extension
// (GET attachment?wait=UP), which the agent answers as soon as the status
// changes. Reports the median and p99.
func BenchmarkAttachLatency(b *testing.B) {
	testbed.RequireRoot(b)
	for range b.N {
		b.StopTimer()
		s := newAgentSetup(b, latencyPlugs)
		s.startAgent(b)
		testutil.Eventually(b, "agent ready", time.Minute, s.readyz())
		c := client.New(s.socket)
		ctx, cancel := context.WithTimeout(context.Background(), wireTimeout)
		netID, err := c.CreateNetwork(ctx, tenant, client.NetworkRequest{Name: "latency"})
		if err != nil {
			b.Fatal(err)
		}
		lat := make([]time.Duration, 0, latencyPlugs)
		for i, dev := range s.devs {
			port, err := c.CreatePort(ctx, tenant, netID, client.StateActive)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			err = c.Plug(ctx, tenant, netID, port, client.PlugRequest{ID: fmt.Sprintf("vif-%05d", i), Device: dev, MAC: macOf(i)})
			if err != nil {
				b.Fatal(err)
			}
			att, err := c.WaitAttachment(ctx, tenant, netID, port, client.StatusUp, time.Minute)
			d := time.Since(start)
			b.StopTimer()
			if err != nil || att == nil || att.Status != client.StatusUp {
				b.Fatalf("plug %d (%s): attachment %+v, %v", i, dev, att, err)
			}
			lat = append(lat, d)
		}
		cancel()
		p50, p99 := recordLatencies("latency", lat)
		b.ReportMetric(p50.Seconds()*1000, "p50-ms")
		b.ReportMetric(p99.Seconds()*1000, "p99-ms")
	}
}

// BenchmarkAttachLatencyVsctl is the same 200 sequential attaches with one
// ovs-vsctl each (waiting for vswitchd, as per-port tooling does), for
// comparison.
func BenchmarkAttachLatencyVsctl(b *testing.B) {
	testbed.RequireRoot(b)
	for range b.N {
		b.StopTimer()
		h := newHypervisor(b, latencyPlugs)
		lat := make([]time.Duration, 0, latencyPlugs)
		for i, dev := range h.devs {
			b.StartTimer()
			start := time.Now()
			h.vsctl(addPortArgs(i, dev)...)
			d := time.Since(start)
			b.StopTimer()
			lat = append(lat, d)
		}
		h.waitOfports(latencyPlugs, time.Minute)
		p50, p99 := recordLatencies("latency-vsctl", lat)
		b.ReportMetric(p50.Seconds()*1000, "p50-ms")
		b.ReportMetric(p99.Seconds()*1000, "p99-ms")
	}
}

func recordLatencies(key string, lat []time.Duration) (p50, p99 time.Duration) {
	slices.Sort(lat)
	p50, p99 = percentile(lat, 50), percentile(lat, 99)
	recordScalar(key+"/p50-ms", p50.Seconds()*1000)
	recordScalar(key+"/p99-ms", p99.Seconds()*1000)
	recordScalar(key+"/min-ms", lat[0].Seconds()*1000)
	recordScalar(key+"/max-ms", lat[len(lat)-1].Seconds()*1000)
	return p50, p99
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}
