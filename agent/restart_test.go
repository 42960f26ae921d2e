package agent_test

import (
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// TestStoreSurvivesServerRestart: the store's conditional monitors are set
// up again when the Quantum DB comes back, and the agent serves and wires
// as before.
func TestStoreSurvivesServerRestart(t *testing.T) {
	testbed.RequireRoot(t)
	srv := testbed.StartQuantumDBAt(t, testutil.ShortDir(t))
	h := startHost(t, srv.Endpoint, agenttest.DefaultConfig().Host)
	n := mustNetwork(t, h.Agent, "t", "before")
	srv.Stop()
	testutil.Eventually(t, "the store to see the server gone", 20*time.Second, func() bool { return !h.Store().Connected() })
	srv.Start()
	testutil.Eventually(t, "the store to be connected again", 30*time.Second, h.Store().Connected)
	p := mustPort(t, h.Agent, "t", n.ID, agent.PortActive)
	if err := h.Plug(ctx(t), "t", n.ID, p.ID, agent.AttachmentSpec{ID: "vif-after", Device: "tapafter"}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the plug after the restart to be wired", 20*time.Second, func() bool { return h.dp.Wired()["vif-after"].AdminUp })
	if c, err := h.Counts(ctx(t)); err != nil || c.Networks != 1 {
		t.Errorf("counts after the restart: %+v, %v", c, err)
	}
}
