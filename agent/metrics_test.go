package agent_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
	qtestutil "github.com/quantum-agent/quantum-agent/internal/testutil"
)

// TestMetrics drives a reconciler with metrics on and checks what a scrape
// shows: passes, plug-to-UP, the state gauges and the VLAN pool, all
// promlint-clean.
func TestMetrics(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	reg := prometheus.NewPedanticRegistry()
	m := agent.NewMetrics(reg)
	reg.MustRegister(agent.NewStateCollector(a))

	dp := agenttest.NewDatapath(agent.StatusUp)
	rec := agent.NewReconciler(a.Store(), dp, "hv-test", time.Hour, m, agenttest.Logger(t))
	c, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = rec.Run(c); close(done) }()
	var connected atomic.Bool
	go m.WatchConnection(c, "quantum", connected.Load, 10*time.Millisecond, nil)
	t.Cleanup(func() { cancel(); <-done })

	n := mustNetwork(t, a, "t", "net")
	p1 := mustPort(t, a, "t", n.ID, "ACTIVE")
	mustPort(t, a, "t", n.ID, "DOWN")
	if err := a.Plug(ctx(t), "t", n.ID, p1.ID, agent.AttachmentSpec{ID: "vif-1", Device: "tap1"}); err != nil {
		t.Fatal(err)
	}
	if att, err := a.WaitAttachment(ctx(t), "t", n.ID, p1.ID, agent.StatusUp); err != nil || att.Status != agent.StatusUp {
		t.Fatalf("attachment not UP: %+v %v", att, err)
	}
	connected.Store(true) // a reconnect: 0 -> 1

	want := `
# HELP quantum_agent_attachments Attachments of this agent's host by status.
# TYPE quantum_agent_attachments gauge
quantum_agent_attachments{status="DOWN"} 0
quantum_agent_attachments{status="FAILED"} 0
quantum_agent_attachments{status="PROVISIONING"} 0
quantum_agent_attachments{status="UP"} 1
# HELP quantum_agent_networks Networks in the Quantum DB.
# TYPE quantum_agent_networks gauge
quantum_agent_networks 1
# HELP quantum_agent_ports Ports of this agent's host's attachments by op-status.
# TYPE quantum_agent_ports gauge
quantum_agent_ports{status="DOWN"} 0
quantum_agent_ports{status="PROVISIONING"} 0
quantum_agent_ports{status="UP"} 1
# HELP quantum_agent_vlan_pool_free VLAN ids of a physical network's pool that no network holds.
# TYPE quantum_agent_vlan_pool_free gauge
quantum_agent_vlan_pool_free{physical_network="physnet1"} 99
# HELP quantum_agent_vlan_pool_size VLAN ids in the pool of a physical network (--network-vlan-ranges).
# TYPE quantum_agent_vlan_pool_size gauge
quantum_agent_vlan_pool_size{physical_network="physnet1"} 100
`
	// The gauges follow the cache's events, which libovsdb delivers just
	// after the cache has the row that WaitAttachment saw: poll for them.
	compare := func() error {
		return testutil.GatherAndCompare(reg, strings.NewReader(want),
			"quantum_agent_attachments", "quantum_agent_networks", "quantum_agent_ports",
			"quantum_agent_vlan_pool_free", "quantum_agent_vlan_pool_size")
	}
	if !qtestutil.Poll(30*time.Second, 10*time.Millisecond, func() bool { return compare() == nil }) {
		t.Error(compare())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			for _, met := range mf.GetMetric() {
				switch {
				case met.GetHistogram() != nil:
					got[mf.GetName()] = float64(met.GetHistogram().GetSampleCount())
				case met.GetCounter() != nil: // summed over labels (trigger)
					got[mf.GetName()] += met.GetCounter().GetValue()
				case met.GetGauge() != nil && mf.GetName() == "quantum_agent_ovsdb_connected":
					got[mf.GetName()] = met.GetGauge().GetValue()
				}
			}
		}
		ok := got["quantum_agent_plug_to_up_seconds"] == 1 && got["quantum_agent_reconcile_passes_total"] >= 2 &&
			got["quantum_agent_reconcile_pass_duration_seconds"] == got["quantum_agent_reconcile_passes_total"] &&
			got["quantum_agent_ovsdb_reconnects_total"] == 1 && got["quantum_agent_ovsdb_connected"] == 1
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed one plug-to-UP, passes and a reconnect: %v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byTrigger := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "quantum_agent_reconcile_passes_total" {
			continue
		}
		for _, met := range mf.GetMetric() {
			for _, l := range met.GetLabel() {
				if l.GetName() == "trigger" {
					byTrigger[l.GetValue()] = met.GetCounter().GetValue()
				}
			}
		}
	}
	// The first pass counts as a resync; the plug woke at least one more.
	if len(byTrigger) != 4 || byTrigger["resync"] < 1 || byTrigger["quantum-db"] < 1 {
		t.Errorf("reconcile passes by trigger = %v; want all four triggers, resync and quantum-db ≥ 1", byTrigger)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// TestNilMetrics checks a reconciler without metrics works (the nil
// *Metrics records nothing).
func TestNilMetrics(t *testing.T) {
	var m *agent.Metrics
	m.WatchConnection(context.Background(), "quantum", func() bool { return true }, time.Millisecond, nil)
}

// BenchmarkStateScrape measures one scrape of the state gauges (kept from
// the cache's events: no walk) with 1000 attached ports.
func BenchmarkStateScrape(b *testing.B) {
	a := agenttest.New(b, agenttest.DefaultConfig())
	c := context.Background()
	n, err := a.CreateNetwork(c, "t", agent.NetworkSpec{Name: "net"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		p, err := a.CreatePort(c, "t", n.ID, agent.PortActive)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Plug(c, "t", n.ID, p.ID, agent.AttachmentSpec{ID: fmt.Sprintf("vif-%d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(agent.NewStateCollector(a))
	b.ResetTimer()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
