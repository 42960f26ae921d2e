package agent_test

import (
	"testing"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
)

// TestNetworkMTU: every way a network comes back carries the MTU its type
// allows on the agent's underlay — VXLAN 50 bytes less, the others the
// underlay's — and a zero UnderlayMTU is Ethernet's 1500.
func TestNetworkMTU(t *testing.T) {
	segments := map[string]agent.Segment{
		"vlan":  {Type: agent.NetworkTypeVLAN, PhysicalNetwork: "physnet1", SegmentationID: 1000},
		"flat":  {Type: agent.NetworkTypeFlat, PhysicalNetwork: "physnet2"},
		"vxlan": {Type: agent.NetworkTypeVXLAN, SegmentationID: 5000},
		"local": {Type: agent.NetworkTypeLocal},
	}
	for _, tc := range []struct {
		underlay int
		want     map[string]int
	}{
		{0, map[string]int{"vlan": 1500, "flat": 1500, "vxlan": 1450, "local": 1500, "allocated": 1500}},
		{9000, map[string]int{"vlan": 9000, "flat": 9000, "vxlan": 8950, "local": 9000, "allocated": 9000}},
	} {
		cfg := agenttest.DefaultConfig()
		cfg.UnderlayMTU = tc.underlay
		a := agenttest.New(t, cfg)
		ids := map[string]string{} // network id -> name of the case
		for name, seg := range segments {
			n, err := a.CreateNetwork(ctx(t), "t", agent.NetworkSpec{Name: name, Segment: seg})
			if err != nil {
				t.Fatalf("create %s: %v", name, err)
			}
			if n.MTU != tc.want[name] {
				t.Errorf("underlay %d: created %s network has MTU %d, want %d", tc.underlay, name, n.MTU, tc.want[name])
			}
			ids[n.ID] = name
		}
		ids[mustNetwork(t, a, "t", "allocated").ID] = "allocated"
		nets, err := a.ListNetworks(ctx(t), "t", true)
		if err != nil || len(nets) != len(ids) {
			t.Fatalf("list: %d networks, %v", len(nets), err)
		}
		for _, n := range nets {
			if want := tc.want[ids[n.ID]]; n.MTU != want {
				t.Errorf("underlay %d: listed %s network has MTU %d, want %d", tc.underlay, ids[n.ID], n.MTU, want)
			}
			got, err := a.GetNetwork(ctx(t), "t", n.ID, false)
			if want := tc.want[ids[n.ID]]; err != nil || got.MTU != want {
				t.Errorf("underlay %d: shown %s network has MTU %d (%v), want %d", tc.underlay, ids[n.ID], got.MTU, err, want)
			}
		}
	}
}

func TestCheckUnderlayMTU(t *testing.T) {
	for mtu, ok := range map[int]bool{575: false, 576: true, 1500: true, 9000: true, 65535: true, 65536: false, 0: false, -1: false} {
		if err := agent.CheckUnderlayMTU(mtu); (err == nil) != ok {
			t.Errorf("CheckUnderlayMTU(%d) = %v, want ok %v", mtu, err, ok)
		}
	}
}
