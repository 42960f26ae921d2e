package agent_test

import (
	"slices"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// TestVXLANPeersFromChassis: a VXLAN port's Peers are the VTEPs of the other
// hosts with attachments on its network, from their Chassis rows.
// TestVXLANPeersFromChassis: each host's reconciler lists the VXLAN networks
// it has attachments on in its Chassis row, and the others take their
// tunnel peers from those lists (not from other hosts' attachments, which
// they do not monitor).
func TestVXLANPeersFromChassis(t *testing.T) {
	endpoint := agenttest.StartServer(t)
	agents := map[string]*agent.Agent{}
	dps := map[string]*agenttest.Datapath{}
	for _, c := range []agent.Chassis{
		{Name: "hv1", VTEPIP: "198.19.0.1", Datapath: "linuxbridge"},
		{Name: "hv2", VTEPIP: "198.19.0.2", Datapath: "linuxbridge"},
		{Name: "hv3", VTEPIP: "198.19.0.3", Datapath: "linuxbridge"},
		{Name: "hv2", VTEPIP: "198.19.0.2", Datapath: "linuxbridge"}, // again: no change
	} {
		cfg := agenttest.DefaultConfig()
		cfg.Host = c.Name
		if agents[c.Name] == nil {
			agents[c.Name] = agenttest.NewAt(t, endpoint, cfg)
			dps[c.Name] = agenttest.NewDatapath(agent.StatusUp)
			agenttest.StartReconciler(t, agents[c.Name], dps[c.Name], c.Name)
		}
		if err := agents[c.Name].Store().RegisterChassis(ctx(t), c); err != nil {
			t.Fatal(err)
		}
	}
	a, dp := agents["hv1"], dps["hv1"]
	if err := a.Store().RegisterChassis(ctx(t), agent.Chassis{Name: "hv4", VTEPIP: "not-an-ip"}); err == nil {
		t.Error("a malformed VTEP address was registered")
	}
	x, err := a.CreateNetwork(ctx(t), "t", agent.NetworkSpec{Name: "x", Segment: agent.Segment{Type: agent.NetworkTypeVXLAN, SegmentationID: 5001}})
	if err != nil {
		t.Fatal(err)
	}
	y, err := a.CreateNetwork(ctx(t), "t", agent.NetworkSpec{Name: "y", Segment: agent.Segment{Type: agent.NetworkTypeVXLAN, SegmentationID: 5002}})
	if err != nil {
		t.Fatal(err)
	}
	plug := func(netID, iface, host string) {
		p := mustPort(t, a, "t", netID, "ACTIVE")
		if err := a.Plug(ctx(t), "t", netID, p.ID, agent.AttachmentSpec{ID: iface, Device: "tap-" + iface, Host: host}); err != nil {
			t.Fatal(err)
		}
	}
	plug(x.ID, "x1", "hv1")
	plug(x.ID, "x2", "hv2")
	plug(x.ID, "x2b", "hv2")
	plug(x.ID, "x5", "hv5") // no Chassis row: no VTEP known
	plug(y.ID, "y1", "hv1")
	plug(y.ID, "y3", "hv3")
	want := map[string][]string{"x1": {"198.19.0.2"}, "y1": {"198.19.0.3"}}
	matches := func() bool {
		w := dp.Wired()
		ok := len(w) == 2
		for att, peers := range want {
			ok = ok && slices.Equal(w[att].Peers, peers)
		}
		return ok
	}
	if !testutil.Poll(20*time.Second, 50*time.Millisecond, matches) {
		t.Fatalf("wired %+v; want peers %v", dp.Wired(), want)
	}
}
