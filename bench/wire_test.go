package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// clientWorkers is how many goroutines drive the API at once, like the
// workers of a compute service building that many VMs in parallel.
const clientWorkers = 16

// vlanTag is the tag ovs-vsctl gives ports; the agent's first network gets
// the first VLAN of physnet1:100:199.
const vlanTag = 100

// sizes are the N of the wiring benchmarks: 100, 500 and 1000;
// BENCH_QUICK=1 stops at 500; BENCH_SIZES=N,N,... picks others.
func sizes() []int {
	if list := os.Getenv("BENCH_SIZES"); list != "" {
		var ns []int
		for _, f := range strings.Split(list, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
				ns = append(ns, n)
			}
		}
		return ns
	}
	if os.Getenv("BENCH_QUICK") != "" {
		return []int{100, 500}
	}
	return []int{100, 500, 1000}
}

// perPortMax is the largest N one ovs-vsctl per port runs at: its cost
// grows with N² (about 90 s at 1000 here).
const perPortMax = 1000

// wireTimeout bounds one wiring or unplug run.
const wireTimeout = 15 * time.Minute

// runs is how often the short cases (agent, vsctl-batch) run at each N,
// alternating, each on a fresh hypervisor; the report takes the median.
// BENCH_RUNS overrides it. vsctl-per-port runs once: it takes minutes.
func runs() int {
	if r, err := strconv.Atoi(os.Getenv("BENCH_RUNS")); err == nil && r > 0 {
		return r
	}
	return 3
}

// BenchmarkWire wires N pre-created devices into br-int three ways, each on
// a fresh identical hypervisor: through the agent's API (agent), with one
// ovs-vsctl per port (vsctl-per-port) and with one ovs-vsctl transaction
// holding all N (vsctl-batch). The agent and vsctl-batch cases then also
// unplug all N. Each sub-benchmark is one run on its own hypervisor, torn
// down when it ends. Run with -benchtime 1x.
func BenchmarkWire(b *testing.B) {
	for _, n := range sizes() {
		b.Run("N="+strconv.Itoa(n), func(b *testing.B) {
			for r := 1; r <= runs(); r++ {
				b.Run(fmt.Sprintf("agent-%d", r), func(b *testing.B) { benchWireAgent(b, n) })
				b.Run(fmt.Sprintf("vsctl-batch-%d", r), func(b *testing.B) { benchWireBatch(b, n) })
			}
			if n <= perPortMax {
				b.Run("vsctl-per-port", func(b *testing.B) { benchWirePerPort(b, n) })
			}
		})
	}
}

func benchWireAgent(b *testing.B, n int) {
	testbed.RequireRoot(b)
	for range b.N {
		b.StopTimer()
		s := newAgentSetup(b, n)
		ag := s.startAgent(b)
		c := client.New(s.socket)
		ctx, cancel := context.WithTimeout(context.Background(), wireTimeout)
		pids := s.pids()
		pids["quantum-agent"] = ag.PID()
		if pid, err := testbed.ReadPID(s.qdb.Dir + "/db.pid"); err == nil {
			pids["ovsdb-server (Quantum DB)"] = pid
		}
		// Wait until the agent's first pass is done, so its start-up is
		// not timed.
		testutil.Eventually(b, "agent ready", time.Minute, s.readyz())
		passes0, passSecs0 := s.reconcileStats()
		cpu := newCPUMeter(pids)
		stopPerf := startPerf(b, fmt.Sprintf("wire-agent-%d", n), pids["quantum-agent"], pids["ovs-vswitchd"])
		b.StartTimer()

		start := time.Now()
		netID, err := c.CreateNetwork(ctx, tenant, client.NetworkRequest{Name: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		jobs := make([]plugJob, n)
		for i, dev := range s.devs {
			jobs[i] = plugJob{network: netID, device: dev, ifaceID: fmt.Sprintf("vif-%05d", i), mac: macOf(i)}
		}
		ports, err := plugAll(ctx, c, jobs, clientWorkers)
		if err != nil {
			b.Fatal(err)
		}
		requested := time.Since(start)
		if _, err := waitStatus(ctx, c, []string{netID}, n, client.StatusUp); err != nil {
			b.Fatal(err)
		}
		wire := time.Since(start)
		b.StopTimer()
		stopPerf()
		used := cpu.done()
		passes, passSecs := s.reconcileStats()
		record(n, "agent", "passes", passes-passes0)
		record(n, "agent", "pass-time", passSecs-passSecs0)
		if got := s.portCount(); got != n {
			b.Fatalf("br-int has %d ports after %d attachments are UP", got, n)
		}

		cpu = newCPUMeter(pids)
		start = time.Now()
		if err := unplugAll(ctx, c, netID, ports, clientWorkers); err != nil {
			b.Fatal(err)
		}
		testutil.Eventually(b, "ports gone from br-int", wireTimeout, func() bool { return s.portCount() == 0 })
		s.barrier()
		unplug := time.Since(start)
		unplugCPU := cpu.done()
		cancel()

		b.ReportMetric(wire.Seconds(), "wire-s")
		b.ReportMetric(requested.Seconds(), "requests-s")
		b.ReportMetric(unplug.Seconds(), "unplug-s")
		record(n, "agent", "wire", wire.Seconds())
		record(n, "agent", "requests", requested.Seconds())
		record(n, "agent", "unplug", unplug.Seconds())
		recordCPU(n, "agent", "wire", used)
		recordCPU(n, "agent", "unplug", unplugCPU)
	}
}

func benchWirePerPort(b *testing.B, n int) {
	testbed.RequireRoot(b)
	for range b.N {
		b.StopTimer()
		h := newHypervisor(b, n)
		cpu := newCPUMeter(h.pids())
		b.StartTimer()
		start := time.Now()
		for i, dev := range h.devs {
			h.vsctl(addPortArgs(i, dev)...)
		}
		h.waitOfports(n, wireTimeout)
		wire := time.Since(start)
		b.StopTimer()
		b.ReportMetric(wire.Seconds(), "wire-s")
		record(n, "vsctl-per-port", "wire", wire.Seconds())
		recordCPU(n, "vsctl-per-port", "wire", cpu.done())
	}
}

func benchWireBatch(b *testing.B, n int) {
	testbed.RequireRoot(b)
	for range b.N {
		b.StopTimer()
		h := newHypervisor(b, n)
		var args, del []string
		for i, dev := range h.devs {
			if i > 0 {
				args = append(args, "--")
				del = append(del, "--")
			}
			args = append(args, addPortArgs(i, dev)...)
			del = append(del, "del-port", bridge, dev)
		}
		cpu := newCPUMeter(h.pids())
		b.StartTimer()
		start := time.Now()
		h.vsctl(args...)
		h.waitOfports(n, wireTimeout)
		wire := time.Since(start)
		b.StopTimer()
		used := cpu.done()

		cpu = newCPUMeter(h.pids())
		start = time.Now()
		h.vsctl(del...)
		unplug := time.Since(start)
		unplugCPU := cpu.done()
		if got := h.portCount(); got != 0 {
			b.Fatalf("br-int still has %d ports after del-port", got)
		}
		b.ReportMetric(wire.Seconds(), "wire-s")
		b.ReportMetric(unplug.Seconds(), "unplug-s")
		record(n, "vsctl-batch", "wire", wire.Seconds())
		record(n, "vsctl-batch", "unplug", unplug.Seconds())
		recordCPU(n, "vsctl-batch", "wire", used)
		recordCPU(n, "vsctl-batch", "unplug", unplugCPU)
	}
}

// addPortArgs is what per-port tooling (os-vif's ovs plugin) sets: the
// port with its local VLAN, and the interface's external_ids.
func addPortArgs(i int, dev string) []string {
	return []string{
		"add-port", bridge, dev, "tag=" + strconv.Itoa(vlanTag),
		"--", "set", "Interface", dev,
		"external_ids:iface-id=vif-" + fmt.Sprintf("%05d", i),
		"external_ids:iface-status=active",
		"external_ids:attached-mac=" + macOf(i),
	}
}
