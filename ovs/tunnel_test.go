package ovs

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

func startVTEP(t *testing.T, f *fakeOVS) *Datapath {
	t.Helper()
	return startConfigured(t, Config{OVSDB: f.endpoint, DatapathType: DatapathNetdev, Host: "hv1",
		VXLANLocalIP: netip.MustParseAddr("198.18.0.1"), QuantumDBID: "db-a"})
}

// onVXLAN is wired(n, 0) on the vxlan network of VNI vni, with peers.
func onVXLAN(n, vni int, peers ...string) agent.WiredPort {
	w := wired(n, 0)
	w.Segment = agent.Segment{Type: agent.NetworkTypeVXLAN, SegmentationID: vni}
	w.NetworkID, w.Peers = "vx-"+string(rune('a'+vni%26)), peers
	return w
}

// setEgress plays ovs-vswitchd finding (or losing) the route of a tunnel.
func (f *fakeOVS) setEgress(t *testing.T, name, egress string) {
	t.Helper()
	iface := &vswitch.Interface{Name: name}
	testutil.Eventually(t, "interface "+name+" in peer cache", testWait, func() bool {
		return f.peer.Get(context.Background(), iface) == nil
	})
	iface.Status = map[string]string{}
	if egress != "" {
		iface.Status[egressKey] = egress
	}
	ops, err := f.peer.Where(iface).Update(iface, &iface.Status)
	if err != nil {
		t.Fatal(err)
	}
	f.transact(t, ops)
}

func TestTunnelName(t *testing.T) {
	name, ok := tunnelName(5000, "198.18.0.2")
	if !ok || name != "v001388c6120002" || len(name) > 15 {
		t.Errorf("tunnelName = %q %v, want v001388c6120002 (15 characters)", name, ok)
	}
	for _, bad := range []struct {
		vni  int
		peer string
	}{{0, "198.18.0.2"}, {maxVNI + 1, "198.18.0.2"}, {5000, "fe80::1"}, {5000, "nonsense"}} {
		if _, ok := tunnelName(bad.vni, bad.peer); ok {
			t.Errorf("tunnelName(%d, %q) accepted", bad.vni, bad.peer)
		}
	}
}

func TestSyncTunnelPerNetworkAndPeer(t *testing.T) {
	f := startFakeOVS(t)
	d := startVTEP(t, f)
	a := onVXLAN(0, 5000, "198.18.0.2", "198.18.0.3")
	b := onVXLAN(1, 5001, "198.18.0.2", "198.18.0.1") // its own VTEP is no peer
	tx := d.transactions.Load()
	states := syncOK(t, d, a, b)
	if n := d.transactions.Load() - tx; n != 1 {
		t.Errorf("Sync made %d transactions, want 1", n)
	}
	tunnels := map[string]struct {
		net, peer string
		vni       int
	}{
		"v001388c6120002": {a.NetworkID, "198.18.0.2", 5000},
		"v001388c6120003": {a.NetworkID, "198.18.0.3", 5000},
		"v001389c6120002": {b.NetworkID, "198.18.0.2", 5001},
	}
	ports := f.ports(t)
	for name, want := range tunnels {
		p, ok := ports[name]
		if !ok {
			t.Fatalf("no tunnel port %s; ports %v", name, f.bridgePorts(t, "br-int"))
		}
		if !p.Protected {
			t.Errorf("tunnel port %s is not protected: tunnels would flood one another", name)
		}
		checkAccess(t, p, tagOf(t, f, map[string]string{a.NetworkID: "tapa", b.NetworkID: "tapb"}[want.net]))
		ids := p.ExternalIDs
		if ids[ownerKey] != "hv1" || ids[networkKey] != want.net || ids[tunnelPeerKey] != want.peer ||
			ids[vniKey] != strconv.Itoa(want.vni) || ids[dbIDKey] != "db-a" {
			t.Errorf("tunnel port %s external_ids %v", name, ids)
		}
		iface := &vswitch.Interface{Name: name}
		if err := f.peer.Get(context.Background(), iface); err != nil {
			t.Fatal(err)
		}
		wantOpts := map[string]string{"remote_ip": want.peer, "local_ip": "198.18.0.1", "key": strconv.Itoa(want.vni)}
		if iface.Type != "vxlan" || !mapsEqual(iface.Options, wantOpts) {
			t.Errorf("tunnel interface %s: type %q options %v, want vxlan %v", name, iface.Type, iface.Options, wantOpts)
		}
	}
	if ta, tb := tagOf(t, f, "tapa"), tagOf(t, f, "tapb"); ta == tb || !validVLAN(ta) || !validVLAN(tb) {
		t.Errorf("local VLANs of the two VNIs: %d and %d, want two distinct ones", ta, tb)
	}
	if st := states[a.AttachmentID]; st.Status == agent.StatusFailed {
		t.Fatalf("vxlan port: %+v", st)
	}

	// vswitchd up, tunnels without a route: DOWN saying so.
	f.setInterface(t, "tapa", 1, "", "up")
	f.setInterface(t, "tapb", 2, "", "up")
	for name := range tunnels {
		f.setInterface(t, name, 3, "", "")
	}
	testutil.Eventually(t, "no-route reason", testWait, func() bool {
		st := syncOK(t, d, a, b)[a.AttachmentID]
		return st.Status == agent.StatusDown && strings.Contains(st.Reason, "has no route to the peer")
	})
	for name := range tunnels {
		f.setEgress(t, name, "br-phys")
	}
	testutil.Eventually(t, "UP once routed", testWait, func() bool {
		st := syncOK(t, d, a, b)
		return st[a.AttachmentID].Status == agent.StatusUp && st[b.AttachmentID].Status == agent.StatusUp
	})
	tx = d.transactions.Load()
	syncOK(t, d, a, b)
	if n := d.transactions.Load() - tx; n != 0 {
		t.Errorf("unchanged Sync made %d transactions, want 0", n)
	}

	// Drift on a tunnel (protection and key cleared by hand) is healed.
	p := f.ports(t)["v001388c6120002"]
	row := &vswitch.Port{UUID: p.UUID, Protected: false}
	ops, err := f.peer.Where(row).Update(row, &row.Protected)
	if err != nil {
		t.Fatal(err)
	}
	f.transact(t, ops)
	testutil.Eventually(t, "tunnel protection healed", testWait, func() bool {
		syncOK(t, d, a, b)
		return f.ports(t)["v001388c6120002"].Protected
	})

	// A peer leaving network a removes its tunnel, in one transaction.
	a.Peers = []string{"198.18.0.2"}
	tx = d.transactions.Load()
	syncOK(t, d, a, b)
	if n := d.transactions.Load() - tx; n != 1 {
		t.Errorf("peer leaving: %d transactions, want 1", n)
	}
	testutil.Eventually(t, "tunnel to the leaving peer removed", testWait, func() bool {
		got := f.bridgePorts(t, "br-int")
		return !slices.Contains(got, "v001388c6120003") && slices.Contains(got, "v001388c6120002")
	})

	// A restart adopts tunnels and local VLANs as they are.
	_ = d.Close()
	d2 := startVTEP(t, f)
	tx = d2.transactions.Load()
	syncOK(t, d2, b, a)
	if n := d2.transactions.Load() - tx; n != 0 {
		t.Errorf("restarted agent made %d transactions, want 0", n)
	}
	// The last port of network b gone: its tunnel goes with it.
	syncOK(t, d2, a)
	testutil.Eventually(t, "tunnels of a network gone from the host removed", testWait, func() bool {
		return !slices.Contains(f.bridgePorts(t, "br-int"), "v001389c6120002")
	})
}

func TestTunnelNameTakenByForeignPort(t *testing.T) {
	f := startFakeOVS(t)
	d := startVTEP(t, f)
	f.addForeignPort(t, "br-int", "v001388c6120002")
	a := onVXLAN(0, 5000, "198.18.0.2")
	syncOK(t, d, a)
	f.setInterface(t, "tapa", 1, "", "up")
	testutil.Eventually(t, "foreign tunnel name reported", testWait, func() bool {
		st := syncOK(t, d, a)[a.AttachmentID]
		return st.Status == agent.StatusDown && strings.Contains(st.Reason, "not owned by quantum-agent")
	})
	if p := f.ports(t)["v001388c6120002"]; p.ExternalIDs["owner"] != "operator" || p.Tag != nil {
		t.Errorf("foreign port changed: %+v", p)
	}
}
