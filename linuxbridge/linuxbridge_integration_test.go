package linuxbridge

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// newDP starts a datapath working in host's namespace; t.Cleanup closes it.
func newDP(t *testing.T, host *testbed.LBHost, cfg Config) *Datapath {
	t.Helper()
	if cfg.Host == "" {
		cfg.Host = "hv1"
	}
	cfg.NetNS = host.NetNSPath()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dp, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := dp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dp.Close() })
	return dp
}

// syncStates runs Sync and returns the states by attachment id.
func syncStates(t *testing.T, dp *Datapath, desired []agent.WiredPort) map[string]agent.PortState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	states, err := dp.Sync(ctx, desired)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	out := map[string]agent.PortState{}
	for _, s := range states {
		out[s.AttachmentID] = s
	}
	if len(out) != len(desired) {
		t.Fatalf("Sync reported %d states for %d ports", len(out), len(desired))
	}
	return out
}

// syncUntil runs Sync until every attachment in want has its status (a
// fresh veth's operational state follows its admin state asynchronously)
// and returns the last states.
func syncUntil(t *testing.T, dp *Datapath, desired []agent.WiredPort, want map[string]string) map[string]agent.PortState {
	t.Helper()
	var st map[string]agent.PortState
	testutil.Poll(20*time.Second, 100*time.Millisecond, func() bool {
		st = syncStates(t, dp, desired)
		for att, status := range want {
			if st[att].Status != status {
				return false
			}
		}
		return true
	})
	for att, status := range want {
		wantStatus(t, st, att, status, "")
	}
	return st
}

func allUp(atts ...string) map[string]string {
	m := map[string]string{}
	for _, a := range atts {
		m[a] = agent.StatusUp
	}
	return m
}

func wantStatus(t *testing.T, states map[string]agent.PortState, att, status, reasonHas string) {
	t.Helper()
	st := states[att]
	if st.Status != status || !strings.Contains(st.Reason, reasonHas) {
		t.Errorf("attachment %s: %s %q, want %s with a reason saying %q", att, st.Status, st.Reason, status, reasonHas)
	}
}

func vmPort(att, netID string, vm *testbed.VM, seg agent.Segment) agent.WiredPort {
	return agent.WiredPort{AttachmentID: att, PortID: "p-" + att, NetworkID: netID, Device: vm.Tap, MAC: vm.MAC, Segment: seg, AdminUp: true}
}

// waitChange waits for the datapath to signal Changes.
func waitChange(t *testing.T, dp *Datapath, why string) {
	t.Helper()
	select {
	case <-dp.Changes():
	case <-time.After(30 * time.Second):
		t.Fatalf("no Changes signal after %s", why)
	}
}

// drain empties a pending Changes signal.
func drain(dp *Datapath) {
	select {
	case <-dp.Changes():
	default:
	}
}

func TestIntegrationWiresVMs(t *testing.T) {
	testbed.RequireRoot(t)
	hv := testbed.StartLBHost(t)
	dp := newDP(t, hv, Config{})
	vm1 := hv.AddVM(t, "vm1", "tapv1", "198.18.0.1/24")
	vm2 := hv.AddVM(t, "vm2", "tapv2", "198.18.0.2/24")
	vm3 := hv.AddVM(t, "vm3", "tapv3", "198.18.0.3/24")
	desired := []agent.WiredPort{
		vmPort("a1", netA, vm1, local), vmPort("a2", netA, vm2, local), vmPort("a3", netB, vm3, local),
	}
	syncUntil(t, dp, desired, allUp("a1", "a2", "a3"))
	brA, brB := BridgeName(netA), BridgeName(netB)
	if hv.Master("tapv1") != brA || hv.Master("tapv2") != brA || hv.Master("tapv3") != brB {
		t.Fatalf("masters: %q %q %q", hv.Master("tapv1"), hv.Master("tapv2"), hv.Master("tapv3"))
	}
	if out := hv.IP("-d", "link", "show", brA); !strings.Contains(out, "alias quantum-agent:hv1") || !strings.Contains(out, "mtu 1500") {
		t.Errorf("bridge %s lacks the ownership alias or MTU 1500:\n%s", brA, out)
	}

	t.Run("isolation", func(t *testing.T) {
		if !vm1.WaitPing(t, vm2.IP, true, 20*time.Second) {
			t.Fatal("vm1 cannot ping vm2 on the same network")
		}
		if vm1.Ping(t, vm3.IP) {
			t.Error("vm1 pings vm3 on another network")
		}
		if !vm1.CanTCP(t, vm2) {
			t.Error("TCP vm1 -> vm2 does not carry data")
		}
	})

	t.Run("admin down and active", func(t *testing.T) {
		down := append([]agent.WiredPort(nil), desired...)
		down[0].AdminUp = false
		st := syncStates(t, dp, down)
		wantStatus(t, st, "a1", agent.StatusUp, "") // wired; the port's op-status shows DOWN
		if !vm1.WaitPing(t, vm2.IP, false, 20*time.Second) {
			t.Fatal("vm1 still pings vm2 with its port DOWN")
		}
		if hv.Master("tapv1") != brA {
			t.Error("a DOWN port's tap left its bridge; it should stay enslaved, held down")
		}
		// Set up again, the tap's carrier follows asynchronously: the link
		// event brings the pass that sees it UP.
		syncUntil(t, dp, desired, allUp("a1"))
		if !vm1.WaitPing(t, vm2.IP, true, 20*time.Second) {
			t.Fatal("vm1 cannot ping vm2 after its port is ACTIVE again")
		}
	})

	t.Run("unplug and replug", func(t *testing.T) {
		index := hv.IfIndex("tapv2")
		syncStates(t, dp, []agent.WiredPort{desired[0], desired[2]})
		if m := hv.Master("tapv2"); m != "" {
			t.Fatalf("unplugged tapv2 is still on %s", m)
		}
		if hv.IfIndex("tapv2") != index {
			t.Fatal("unplug deleted or re-created the tap; it belongs to the VM")
		}
		if !vm1.WaitPing(t, vm2.IP, false, 20*time.Second) {
			t.Fatal("vm1 still pings unplugged vm2")
		}
		syncStates(t, dp, desired)
		if !vm1.WaitPing(t, vm2.IP, true, 20*time.Second) {
			t.Fatal("vm1 cannot ping vm2 after replug")
		}
	})

	t.Run("last port removes the bridge", func(t *testing.T) {
		syncStates(t, dp, desired[:2])
		if _, err := hv.IPErr("link", "show", brB); err == nil {
			t.Errorf("bridge %s of a network without ports is still there", brB)
		}
		if hv.IfIndex("tapv3") == 0 {
			t.Error("the tap of the removed network's port is gone")
		}
		syncStates(t, dp, desired)
	})

	t.Run("missing device is DOWN, then wired when it appears", func(t *testing.T) {
		late := append(append([]agent.WiredPort(nil), desired...), agent.WiredPort{
			AttachmentID: "a4", NetworkID: netB, Device: "tapv4", Segment: local, AdminUp: true})
		st := syncStates(t, dp, late)
		wantStatus(t, st, "a4", agent.StatusDown, "device tapv4 does not exist")
		drain(dp)
		vm4 := hv.AddVM(t, "vm4", "tapv4", "198.18.0.4/24")
		waitChange(t, dp, "the device appeared")
		syncUntil(t, dp, late, allUp("a4"))
		if !vm3.WaitPing(t, vm4.IP, true, 20*time.Second) {
			t.Error("vm3 cannot ping vm4 wired after its device appeared")
		}
		hv.IP("link", "set", "tapv4", "down")
		// The agent sets it up again: ACTIVE ports are up.
		syncUntil(t, dp, late, allUp("a4"))
		syncStates(t, dp, desired)
	})
}

// TestIntegrationLinkDown: a tap whose peer (the VM side) is down reports
// DOWN "link ... down", like OVS's link_state.
func TestIntegrationLinkDown(t *testing.T) {
	testbed.RequireRoot(t)
	hv := testbed.StartLBHost(t)
	dp := newDP(t, hv, Config{})
	vm1 := hv.AddVM(t, "vm1", "tapd1", "198.18.0.1/24")
	if _, err := testbed.RunErr(nil, "ip", "-n", vm1.NetNS, "link", "set", "eth0", "down"); err != nil {
		t.Fatal(err)
	}
	st := syncStates(t, dp, []agent.WiredPort{vmPort("a1", netA, vm1, local)})
	wantStatus(t, st, "a1", agent.StatusDown, "link of device tapd1 is down")
}

func TestIntegrationRestartAdoptsWithoutDisruption(t *testing.T) {
	testbed.RequireRoot(t)
	hv := testbed.StartLBHost(t)
	dp := newDP(t, hv, Config{})
	vm1 := hv.AddVM(t, "vm1", "tapr1", "198.18.0.1/24")
	vm2 := hv.AddVM(t, "vm2", "tapr2", "198.18.0.2/24")
	down := hv.AddVM(t, "vm3", "tapr3", "198.18.0.3/24")
	desired := []agent.WiredPort{vmPort("a1", netA, vm1, local), vmPort("a2", netA, vm2, local), vmPort("a3", netA, down, local)}
	desired[2].AdminUp = false
	syncUntil(t, dp, desired, allUp("a1", "a2", "a3"))
	if !vm1.WaitPing(t, vm2.IP, true, 20*time.Second) {
		t.Fatal("vm1 cannot ping vm2")
	}
	bridgeIndex := hv.IfIndex(BridgeName(netA))

	ping := vm1.StartPing(t, vm2.IP, 20*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	if err := dp.Close(); err != nil {
		t.Fatal(err)
	}
	dp2 := newDP(t, hv, Config{})
	st := syncStates(t, dp2, desired)
	if n := dp2.netlinkOp.Load(); n != 0 {
		t.Errorf("restarted datapath sent %d state-changing netlink requests; want 0 (adopt, change nothing)", n)
	}
	for _, att := range []string{"a1", "a2", "a3"} {
		wantStatus(t, st, att, agent.StatusUp, "")
	}
	time.Sleep(500 * time.Millisecond)
	sent, received := ping.Stop(t)
	if sent < 10 || received != sent {
		t.Errorf("continuous ping across the restart: %d sent, %d received; want no loss", sent, received)
	}
	if hv.IfIndex(BridgeName(netA)) != bridgeIndex {
		t.Error("the bridge was re-created across the restart")
	}
	if vm1.Ping(t, down.IP) {
		t.Error("the DOWN port passes traffic after the restart")
	}
}

func TestIntegrationHealsDrift(t *testing.T) {
	testbed.RequireRoot(t)
	hv := testbed.StartLBHost(t)
	dp := newDP(t, hv, Config{})
	vm1 := hv.AddVM(t, "vm1", "tapf1", "198.18.0.1/24")
	vm2 := hv.AddVM(t, "vm2", "tapf2", "198.18.0.2/24")
	desired := []agent.WiredPort{vmPort("a1", netA, vm1, local), vmPort("a2", netA, vm2, local)}
	syncStates(t, dp, desired)
	br := BridgeName(netA)

	// Released by hand: the link event brings a Sync that puts it back.
	drain(dp)
	hv.IP("link", "set", "tapf1", "nomaster")
	waitChange(t, dp, "tapf1 was released by hand")
	syncStates(t, dp, desired)
	if hv.Master("tapf1") != br {
		t.Fatal("tapf1 not back on its bridge")
	}
	if !vm1.WaitPing(t, vm2.IP, true, 20*time.Second) {
		t.Fatal("no traffic after healing")
	}

	// The bridge deleted by hand comes back, with its ports.
	drain(dp)
	hv.IP("link", "del", br)
	waitChange(t, dp, "the bridge was deleted by hand")
	syncStates(t, dp, desired)
	if hv.Master("tapf1") != br || hv.Master("tapf2") != br {
		t.Fatal("ports not back on the re-created bridge")
	}

	// A tap re-created under the same name (new ifindex) is wired again.
	old := hv.IfIndex("tapf2")
	drain(dp)
	vm2b := hv.AddVM(t, "vm2b", "tapf2x", "198.18.0.5/24")
	hv.IP("link", "del", "tapf2")
	hv.IP("link", "set", "tapf2x", "name", "tapf2")
	waitChange(t, dp, "tapf2 was re-created")
	syncUntil(t, dp, desired, allUp("a2"))
	if hv.IfIndex("tapf2") == old || hv.Master("tapf2") != br {
		t.Fatal("the re-created tapf2 is not wired")
	}
	if !vm1.WaitPing(t, vm2b.IP, true, 20*time.Second) {
		t.Fatal("vm1 cannot ping the VM behind the re-created tap")
	}
}

func TestIntegrationLeavesForeignLinksAlone(t *testing.T) {
	testbed.RequireRoot(t)
	hv := testbed.StartLBHost(t)
	dp := newDP(t, hv, Config{})
	vm1 := hv.AddVM(t, "vm1", "tapo1", "198.18.0.1/24")
	vm2 := hv.AddVM(t, "vm2", "tapo2", "198.18.0.2/24")
	vm3 := hv.AddVM(t, "vm3", "tapo3", "198.18.0.3/24")
	// The operator's bridge with our network's name, another host's bridge,
	// and a tap on a bridge of the operator's.
	hv.IP("link", "add", BridgeName(netA), "type", "bridge")
	hv.IP("link", "add", "br-ops", "type", "bridge")
	hv.IP("link", "set", "br-ops", "alias", "quantum-agent:other-host")
	hv.IP("link", "set", "tapo3", "master", "br-ops")

	st := syncUntil(t, dp, []agent.WiredPort{
		vmPort("a1", netA, vm1, local), vmPort("b2", netB, vm2, local), vmPort("b3", netB, vm3, local),
	}, allUp("b2"))
	wantStatus(t, st, "a1", agent.StatusFailed, "not owned by quantum-agent")
	wantStatus(t, st, "b2", agent.StatusUp, "")
	wantStatus(t, st, "b3", agent.StatusFailed, "which quantum-agent does not own")
	if m := hv.Master("tapo1"); m != "" {
		t.Errorf("tapo1 was plugged into the foreign bridge %s", m)
	}
	if out := hv.IP("-d", "link", "show", BridgeName(netA)); strings.Contains(out, "alias") {
		t.Errorf("the foreign bridge was modified:\n%s", out)
	}
	syncStates(t, dp, nil)
	if hv.Master("tapo3") != "br-ops" {
		t.Error("an empty desired state released a tap from a foreign bridge")
	}
	for _, br := range []string{BridgeName(netA), "br-ops"} {
		if _, err := hv.IPErr("link", "show", br); err != nil {
			t.Errorf("foreign bridge %s deleted", br)
		}
	}
	if _, err := hv.IPErr("link", "show", BridgeName(netB)); err == nil {
		t.Error("our own bridge outlived its last port")
	}
}

func TestIntegrationVXLANBetweenHosts(t *testing.T) {
	testbed.RequireRoot(t)
	hv1, hv2 := testbed.StartLBHost(t), testbed.StartLBHost(t)
	testbed.Underlay(t, hv1, hv2, "198.19.0.1", "198.19.0.2")
	vtep1, vtep2 := netip.MustParseAddr("198.19.0.1"), netip.MustParseAddr("198.19.0.2")
	dp1 := newDP(t, hv1, Config{Host: "hv1", VXLANLocalIP: vtep1})
	dp2 := newDP(t, hv2, Config{Host: "hv2", VXLANLocalIP: vtep2})
	segX := agent.Segment{Type: agent.NetworkTypeVXLAN, SegmentationID: 1001}
	segY := agent.Segment{Type: agent.NetworkTypeVXLAN, SegmentationID: 1002}
	x1 := hv1.AddVM(t, "x1", "tapx1", "198.18.1.1/24")
	y1 := hv1.AddVM(t, "y1", "tapy1", "198.18.1.3/24")
	x2 := hv2.AddVM(t, "x2", "tapx2", "198.18.1.2/24")
	y2 := hv2.AddVM(t, "y2", "tapy2", "198.18.1.4/24")
	for _, vm := range []*testbed.VM{x1, y1, x2, y2} {
		vm.SetMTU(t, DefaultVXLANMTU)
	}
	withPeers := func(w agent.WiredPort, peers ...netip.Addr) agent.WiredPort {
		for _, p := range peers {
			w.Peers = append(w.Peers, p.String())
		}
		return w
	}
	syncUntil(t, dp1, []agent.WiredPort{
		withPeers(vmPort("x1", netA, x1, segX), vtep2), withPeers(vmPort("y1", netB, y1, segY), vtep2)}, allUp("x1", "y1"))
	syncUntil(t, dp2, []agent.WiredPort{
		withPeers(vmPort("x2", netA, x2, segX), vtep1), withPeers(vmPort("y2", netB, y2, segY), vtep1)}, allUp("x2", "y2"))
	out := hv1.IP("-d", "link", "show", "vxlan-1001")
	for _, want := range []string{"vxlan id 1001", "local 198.19.0.1", "dstport 4789", "nolearning", "mtu 1450", "alias quantum-agent:hv1"} {
		if !strings.Contains(out, want) {
			t.Errorf("vxlan-1001 lacks %q:\n%s", want, out)
		}
	}
	if fdb := hv1.Bridge("fdb", "show", "dev", "vxlan-1001"); !strings.Contains(fdb, "00:00:00:00:00:00 dst 198.19.0.2") {
		t.Errorf("no flood entry to the peer on vxlan-1001:\n%s", fdb)
	}
	if !x1.WaitPing(t, x2.IP, true, 20*time.Second) {
		t.Fatal("x1 cannot ping x2 across hosts on VNI 1001")
	}
	if !y1.WaitPing(t, y2.IP, true, 20*time.Second) {
		t.Fatal("y1 cannot ping y2 across hosts on VNI 1002")
	}
	if x1.Ping(t, y2.IP) || x2.Ping(t, y1.IP) {
		t.Error("traffic crosses from VNI 1001 to VNI 1002")
	}
	if !x1.CanTCP(t, x2) {
		t.Error("TCP x1 -> x2 over VXLAN does not carry data")
	}

	// The peer leaves the network: its flood entry goes, and so does the traffic.
	syncStates(t, dp1, []agent.WiredPort{vmPort("x1", netA, x1, segX), withPeers(vmPort("y1", netB, y1, segY), vtep2)})
	if fdb := hv1.Bridge("fdb", "show", "dev", "vxlan-1001"); strings.Contains(fdb, "dst 198.19.0.2") {
		t.Errorf("flood entry to a peer that left is still there:\n%s", fdb)
	}
}

func TestIntegrationVLANAndFlatUplinks(t *testing.T) {
	testbed.RequireRoot(t)
	hv := testbed.StartLBHost(t)
	// The "NICs": veths whose far ends stay in the hypervisor, down.
	hv.IP("link", "add", "eth1", "type", "veth", "peer", "name", "eth1-far")
	hv.IP("link", "add", "eth2", "type", "veth", "peer", "name", "eth2-far")
	dp := newDP(t, hv, Config{InterfaceMappings: map[string]string{"physnet1": "eth1", "physnet2": "eth2"}})
	vm1 := hv.AddVM(t, "vm1", "tapu1", "198.18.0.1/24")
	vm2 := hv.AddVM(t, "vm2", "tapu2", "198.18.0.2/24")
	vlan := agent.Segment{Type: agent.NetworkTypeVLAN, PhysicalNetwork: "physnet1", SegmentationID: 101}
	flat := agent.Segment{Type: agent.NetworkTypeFlat, PhysicalNetwork: "physnet2"}
	st := syncUntil(t, dp, []agent.WiredPort{vmPort("v1", netA, vm1, vlan), vmPort("f2", netB, vm2, flat)}, allUp("f2"))
	if hv.Master("eth2") != BridgeName(netB) {
		t.Errorf("flat network: mapped NIC eth2 is on %q, want %s", hv.Master("eth2"), BridgeName(netB))
	}
	ok, why := testbed.Has8021Q(t)
	if !ok {
		// The kernel's own reason reaches the attachment.
		wantStatus(t, st, "v1", agent.StatusFailed, "create VLAN sub-interface eth1.101 of eth1 (VLAN 101)")
		t.Logf("VLAN attachment: %s", st["v1"].Reason)
		syncStates(t, dp, nil)
		if hv.Master("eth2") != "" {
			t.Error("flat NIC still enslaved after its network went")
		}
		t.Skip(why)
	}
	wantStatus(t, st, "v1", agent.StatusUp, "")
	if hv.Master("eth1.101") != BridgeName(netA) {
		t.Errorf("eth1.101 is on %q", hv.Master("eth1.101"))
	}
	syncStates(t, dp, nil)
	if _, err := hv.IPErr("link", "show", "eth1.101"); err == nil {
		t.Error("VLAN sub-interface outlived its network")
	}
	if hv.IfIndex("eth1") == 0 || hv.Master("eth2") != "" {
		t.Error("the mapped NICs must stay, released")
	}
}
