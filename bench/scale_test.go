package bench

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// BenchmarkAgentRSS10k: 10,000 ports with attachments (10 networks of
// 1,000) through the API, 16 client goroutines. Their devices do not exist:
// the agent still holds all of them in memory and creates all 10,000 OVS
// ports, which vswitchd cannot open, so they end DOWN ("device … does not
// exist"). Reports the agent's VmRSS (and VmHWM, the peak) once every
// attachment has left PROVISIONING.
func BenchmarkAgentRSS10k(b *testing.B) {
	const networks, perNetwork = 10, 1000
	testbed.RequireRoot(b)
	for range b.N {
		b.StopTimer()
		s := newAgentSetup(b, 0)
		ag := s.startAgent(b)
		testutil.Eventually(b, "agent ready", time.Minute, s.readyz())
		idleRSS, _ := rssKiB(ag.PID())
		c := client.New(s.socket)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		b.StartTimer()
		start := time.Now()
		var nets []string
		var jobs []plugJob
		for k := range networks {
			netID, err := c.CreateNetwork(ctx, tenant, client.NetworkRequest{Name: fmt.Sprintf("rss%d", k)})
			if err != nil {
				b.Fatal(err)
			}
			nets = append(nets, netID)
			for i := range perNetwork {
				idx := k*perNetwork + i
				jobs = append(jobs, plugJob{network: netID, device: fmt.Sprintf("qmiss%05d", idx),
					ifaceID: fmt.Sprintf("vif-%05d", idx), mac: macOf(idx)})
			}
		}
		if _, err := plugAll(ctx, c, jobs, clientWorkers); err != nil {
			b.Fatal(err)
		}
		requested := time.Since(start)
		counts, err := waitStatus(ctx, c, nets, len(jobs), "")
		if err != nil {
			b.Fatal(err)
		}
		settled := time.Since(start)
		b.StopTimer()
		cancel()
		rss, hwm := rssKiB(ag.PID())
		if got := s.portCount(); got != len(jobs) {
			b.Fatalf("br-int has %d ports, want %d", got, len(jobs))
		}
		b.ReportMetric(float64(rss)/1024, "rss-MiB")
		b.ReportMetric(float64(hwm)/1024, "hwm-MiB")
		recordScalar("rss/idle-MiB", float64(idleRSS)/1024)
		recordScalar("rss/rss-MiB", float64(rss)/1024)
		recordScalar("rss/hwm-MiB", float64(hwm)/1024)
		recordScalar("rss/requests-s", requested.Seconds())
		recordScalar("rss/settled-s", settled.Seconds())
		recordNote("rss/statuses", fmt.Sprint(counts))
	}
}

// restartPorts is how many attached, UP ports BenchmarkRestart5k restarts
// the agent over.
const restartPorts = 5000

// BenchmarkRestart5k: 5,000 devices (veth pairs) wired through the API and
// UP; then SIGTERM the agent, start it again and time until its socket
// answers and until /readyz says ready (first full reconcile pass done).
// Fails if any OVS interface got a new ofport (a port re-created).
func BenchmarkRestart5k(b *testing.B) {
	testbed.RequireRoot(b)
	for range b.N {
		b.StopTimer()
		s := newAgentSetup(b, restartPorts)
		ag := s.startAgent(b)
		ready := s.readyz()
		testutil.Eventually(b, "agent ready", time.Minute, ready)
		c := client.New(s.socket)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		start := time.Now()
		netID, err := c.CreateNetwork(ctx, tenant, client.NetworkRequest{Name: "restart"})
		if err != nil {
			b.Fatal(err)
		}
		jobs := make([]plugJob, len(s.devs))
		for i, dev := range s.devs {
			jobs[i] = plugJob{network: netID, device: dev, ifaceID: fmt.Sprintf("vif-%05d", i), mac: macOf(i)}
		}
		if _, err := plugAll(ctx, c, jobs, clientWorkers); err != nil {
			b.Fatal(err)
		}
		if _, err := waitStatus(ctx, c, []string{netID}, len(jobs), client.StatusUp); err != nil {
			b.Fatal(err)
		}
		wire := time.Since(start)
		before := s.interfaces()
		rssBefore, _ := rssKiB(ag.PID())

		termStart := time.Now()
		if err := ag.Term(b, 60*time.Second); err != nil {
			b.Fatalf("agent exit after SIGTERM: %v", err)
		}
		stopped := time.Since(termStart)

		b.StartTimer()
		start = time.Now()
		s.startAgent(b)
		answered := time.Since(start)
		testutil.Eventually(b, "agent ready after restart", 10*time.Minute, ready)
		readyAfter := time.Since(start)
		b.StopTimer()

		if _, err := waitStatus(ctx, c, []string{netID}, len(jobs), client.StatusUp); err != nil {
			b.Fatal(err)
		}
		cancel()
		after := s.interfaces()
		changed := diffOfports(before, after)
		if len(changed) > 0 {
			b.Errorf("restart changed the ofport of %d of %d interfaces (re-created ports), e.g. %s",
				len(changed), len(before), strings.Join(changed[:min(5, len(changed))], ", "))
		}
		b.ReportMetric(readyAfter.Seconds(), "ready-s")
		b.ReportMetric(answered.Seconds(), "socket-s")
		recordScalar("restart/wire-s", wire.Seconds())
		recordScalar("restart/rss-MiB", float64(rssBefore)/1024)
		recordScalar("restart/sigterm-exit-s", stopped.Seconds())
		recordScalar("restart/socket-s", answered.Seconds())
		recordScalar("restart/ready-s", readyAfter.Seconds())
		recordScalar("restart/interfaces", float64(len(before)))
		recordScalar("restart/ofports-changed", float64(len(changed)))
	}
}

// diffOfports lists the interfaces whose ofport differs or that appeared
// or vanished.
func diffOfports(before, after map[string]int) []string {
	var out []string
	for name, of := range before {
		if a, ok := after[name]; !ok || a != of {
			out = append(out, fmt.Sprintf("%s %d->%d", name, of, a))
		}
	}
	for name := range maps.Keys(after) {
		if _, ok := before[name]; !ok {
			out = append(out, name+" new")
		}
	}
	return out
}
