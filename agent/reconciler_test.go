package agent_test

import (
	"context"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

func TestReconcilerWiresOwnHostAndWritesStatus(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	dp := agenttest.NewDatapath(agent.StatusUp)
	agenttest.StartReconciler(t, a, dp, "hv-test")
	n := mustNetwork(t, a, "t", "net")
	up := mustPort(t, a, "t", n.ID, "ACTIVE")
	down := mustPort(t, a, "t", n.ID, "DOWN")
	other := mustPort(t, a, "t", n.ID, "ACTIVE")
	for _, plug := range []struct {
		port agent.Port
		spec agent.AttachmentSpec
	}{
		{up, agent.AttachmentSpec{ID: "vif-up", Device: "tapup"}},
		{down, agent.AttachmentSpec{ID: "vif-down", Device: "tapdown"}},
		{other, agent.AttachmentSpec{ID: "vif-other", Device: "tapother", Host: "another-host"}},
	} {
		if err := a.Plug(ctx(t), "t", n.ID, plug.port.ID, plug.spec); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx(t), 20*time.Second)
	defer cancel()
	att, err := a.WaitAttachment(wctx, "t", n.ID, up.ID, agent.StatusUp)
	if err != nil || att == nil || att.Status != agent.StatusUp {
		t.Fatalf("wait for UP: %+v, %v", att, err)
	}
	if att, _ := a.WaitAttachment(wctx, "t", n.ID, down.ID, agent.StatusUp); att.Status != agent.StatusUp {
		t.Fatalf("admin-DOWN port's attachment: %+v", att)
	}
	w := dp.Wired()
	if w["vif-up"].VLAN != n.Segment.SegmentationID || !w["vif-up"].AdminUp {
		t.Errorf("ACTIVE port wired as %+v, want VLAN %d", w["vif-up"], n.Segment.SegmentationID)
	}
	if w["vif-down"].VLAN != agent.DeadVLAN || w["vif-down"].AdminUp {
		t.Errorf("DOWN port wired as %+v, want the dead VLAN", w["vif-down"])
	}
	if _, ok := w["vif-other"]; ok {
		t.Errorf("another host's attachment was wired here")
	}
	p, _ := a.GetPort(ctx(t), "t", n.ID, down.ID)
	if p.OpStatus != agent.StatusDown {
		t.Errorf("op-status of an admin-DOWN port = %s, want DOWN", p.OpStatus)
	}
	p, _ = a.GetPort(ctx(t), "t", n.ID, up.ID)
	if p.OpStatus != agent.StatusUp {
		t.Errorf("op-status of a wired ACTIVE port = %s, want UP", p.OpStatus)
	}
	// Admin state changes re-wire without anyone else asking.
	if err := a.SetPortState(ctx(t), "t", n.ID, up.ID, "DOWN"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the port set DOWN to move to the dead VLAN", 20*time.Second, func() bool {
		return dp.Wired()["vif-up"].VLAN == agent.DeadVLAN
	})
}

func TestWaitAttachmentTimesOutWithCurrentState(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	n := mustNetwork(t, a, "t", "net")
	p := mustPort(t, a, "t", n.ID, "ACTIVE")
	if err := a.Plug(ctx(t), "t", n.ID, p.ID, agent.AttachmentSpec{ID: "vif"}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx(t), 50*time.Millisecond)
	defer cancel()
	att, err := a.WaitAttachment(wctx, "t", n.ID, p.ID, agent.StatusUp)
	if err != nil || att == nil || att.Status != agent.StatusProvisioning {
		t.Fatalf("wait with no reconciler: %+v, %v; want PROVISIONING and no error", att, err)
	}
}
