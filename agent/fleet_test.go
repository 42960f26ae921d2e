package agent_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
	"github.com/quantum-agent/quantum-agent/agent/qdb"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// hostAgent is an agent of one host with its reconciler, fake datapath and
// metrics, on a shared Quantum DB.
type hostAgent struct {
	*agent.Agent
	dp  *agenttest.Datapath
	reg *prometheus.Registry
}

func startHost(t *testing.T, endpoint, host string) hostAgent {
	t.Helper()
	cfg := agenttest.DefaultConfig()
	cfg.Host = host
	h := hostAgent{Agent: agenttest.NewAt(t, endpoint, cfg), dp: agenttest.NewDatapath(agent.StatusUp), reg: prometheus.NewRegistry()}
	rec := agent.NewReconciler(h.Store(), h.dp, host, time.Hour, agent.NewMetrics(h.reg), agenttest.Logger(t))
	c, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = rec.Run(c); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	testutil.Eventually(t, "the first reconcile pass of "+host, 10*time.Second, func() bool { return rec.Ready() == nil })
	return h
}

// passes is how many reconcile passes the Quantum DB's changes woke.
func (h hostAgent) passes(t *testing.T) float64 {
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if mf.GetName() == "quantum_agent_reconcile_passes_total" && l.GetValue() == agent.TriggerQuantumDB {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestOtherHostsPlugsReachNobody: on a real ovsdb-server, which evaluates
// the monitor conditions, an agent's cache holds its own host's attachments
// and no port; port creations and plugs on another host wake none of its
// reconcile passes;
// and a port's admin state, set through any agent, reaches the host that
// wires it (the copy on the attachment).
func TestOtherHostsPlugsReachNobody(t *testing.T) {
	testbed.RequireRoot(t)
	endpoint := testbed.StartQuantumDB(t)
	busy, idle := startHost(t, endpoint, "hv-busy"), startHost(t, endpoint, "hv-idle")
	n := mustNetwork(t, busy.Agent, "t", "net")
	mine := mustPort(t, busy.Agent, "t", n.ID, agent.PortActive)
	if err := busy.Plug(ctx(t), "t", n.ID, mine.ID, agent.AttachmentSpec{ID: "vif-idle", Device: "tapidle", Host: "hv-idle"}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "hv-idle to wire its attachment and write it UP", 10*time.Second, func() bool {
		att, err := idle.GetAttachment(ctx(t), "t", n.ID, mine.ID)
		return err == nil && att != nil && att.Status == agent.StatusUp
	})
	before := idle.passes(t)

	// Each free ACTIVE port goes into the network's free_ports and out of it
	// at the plug that reuses it: a column of a monitored row that hv-idle
	// does not monitor, so that sends it nothing either.
	var last agent.Port
	for i := range 20 {
		mustPort(t, busy.Agent, "t", n.ID, agent.PortActive)
		var err error
		if last, err = busy.PlugIntoNetwork(ctx(t), "t", n.ID, agent.AttachmentSpec{ID: fmt.Sprintf("vif-%d", i), Host: "hv-busy"}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, "hv-busy to wire its 20 attachments", 10*time.Second, func() bool { return len(busy.dp.Wired()) == 20 })
	// A change hv-idle does see, after the burst: once it is wired, every
	// update the burst could have sent hv-idle has arrived (one connection,
	// in order).
	if err := busy.SetPortState(ctx(t), "t", n.ID, mine.ID, agent.PortDown); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "hv-idle to see its port DOWN", 10*time.Second, func() bool { return !idle.dp.Wired()["vif-idle"].AdminUp })
	// Its own changes wake at most 3: the UP it wrote (its pass may still
	// be due when before was read), the admin state, and a status write.
	if woke := idle.passes(t) - before; woke > 3 {
		t.Errorf("hv-idle ran %v passes for 20 plugs on another host and its own few changes; want at most 3", woke)
	}
	if got := agent.CachedRows(idle.Store(), qdb.AttachmentTable); got != 1 {
		t.Errorf("hv-idle's cache holds %d attachments; want 1, its own", got)
	}
	if got := agent.CachedRows(idle.Store(), qdb.PortTable); got != 0 {
		t.Errorf("hv-idle's cache holds %d ports; want none", got)
	}
	// The API still answers everything from any host.
	if ports, err := idle.ListPorts(ctx(t), "t", n.ID); err != nil || len(ports) != 21 {
		t.Errorf("hv-idle lists %d ports, %v; want 21", len(ports), err)
	}
	if att, err := idle.WaitAttachment(ctx(t), "t", n.ID, last.ID, agent.StatusUp); err != nil || att == nil || att.Host != "hv-busy" || att.Status != agent.StatusUp {
		t.Errorf("hv-idle's wait on an attachment of hv-busy: %+v, %v", att, err)
	}
}
