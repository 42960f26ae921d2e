package bench

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// waitFleetReady waits until every agent's /readyz says ready (each has
// loaded what it monitors and made its first reconcile pass).
func waitFleetReady(agents []*fleetAgent, d time.Duration) error {
	pending := append([]*fleetAgent(nil), agents...)
	var failed error
	ok := testutil.Poll(d, 500*time.Millisecond, func() bool {
		var still []*fleetAgent
		for _, a := range pending {
			ready, err := a.ready()
			if err != nil {
				failed = err
				return true
			}
			if !ready {
				still = append(still, a)
			}
		}
		pending = still
		return len(pending) == 0
	})
	switch {
	case failed != nil:
		return failed
	case !ok:
		return fmt.Errorf("%d of %d agents not ready within %s; %s logged last: %s", len(pending), len(agents), d, pending[0].host, pending[0].lastLog())
	}
	return nil
}

// quietWindow is how long the agents must stay (nearly) idle to count as
// settled: a burst's updates reach the idle agents asynchronously, and
// their cost must be counted to the end.
const quietWindow = time.Second

// waitQuiet waits (up to 5 minutes) until the agents together use less
// than 2% of a CPU plus 0.5% per agent over quietWindow: their periodic
// work (probes, timers) stays below that, a reconcile pass does not.
func waitQuiet(agents []*fleetAgent) {
	total := func() float64 {
		var s float64
		for _, a := range agents {
			s += cpuSeconds(a.proc.PID())
		}
		return s
	}
	limit := (0.02 + 0.005*float64(len(agents))) * quietWindow.Seconds()
	prev := total()
	testutil.Poll(5*time.Minute, quietWindow, func() bool {
		now := total()
		quiet := now-prev <= limit
		prev = now
		return quiet
	})
}

func sampleAll(agents []*fleetAgent) []agentSample {
	out := make([]agentSample, len(agents))
	for i, a := range agents {
		out[i] = a.sample()
	}
	return out
}

func relaysCPU(relays []*testbed.Relay) float64 {
	var s float64
	for _, r := range relays {
		s += cpuSeconds(r.PID())
	}
	return s
}

func membersCPU(members []*testbed.Member) float64 {
	var s float64
	for _, m := range members {
		s += cpuSeconds(m.PID())
	}
	return s
}

var raftLog = regexp.MustCompile(`(?m)^Log: \[(\d+), (\d+)\]`)

// raftLastIndex is the last index of the member's Raft log, from its
// cluster/status: the leader appends one entry per committed transaction,
// so the difference over a burst counts the transactions every agent's
// monitor was told about (0 if the status does not say).
func raftLastIndex(status string) int64 {
	m := raftLog.FindStringSubmatch(status)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(m[2], 10, 64)
	return n
}

// resetBusyHost removes the burst's rows from the DB (one transaction;
// the agents are stopped) and the bridges its agent made, so that every
// scenario starts from the same database and an empty busy host.
func (e *fleetEnv) resetBusyHost() {
	b := e.b
	if e.burstNet != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := deleteNetworkRows(ctx, e.cluster.Leader().Endpoint, e.burstNet); err != nil {
			b.Fatalf("remove the burst network's rows: %v", err)
		}
		e.burstNet = ""
	}
	out := testbed.Run(b, nil, "ip", "-n", e.busy.NetNS, "-o", "link", "show", "type", "bridge")
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		testbed.Run(b, nil, "ip", "-n", e.busy.NetNS, "link", "del", name)
	}
}
