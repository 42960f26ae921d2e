package ovs

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

func startMapped(t *testing.T, f *fakeOVS, mappings map[string]string) *Datapath {
	t.Helper()
	return startConfigured(t, Config{OVSDB: f.endpoint, DatapathType: DatapathNetdev, Host: "hv1", BridgeMappings: mappings})
}

// onPhysnet is wired(n, vlan) on physical network pn.
func onPhysnet(n, vlan int, pn string) agent.WiredPort {
	w := wired(n, vlan)
	w.Segment.PhysicalNetwork = pn
	w.NetworkID = pn + "-net"
	return w
}

// bridgePorts lists the names of bridge's ports as the peer sees them.
func (f *fakeOVS) bridgePorts(t *testing.T, bridge string) []string {
	t.Helper()
	br := &vswitch.Bridge{Name: bridge}
	if err := f.peer.Get(context.Background(), br); err != nil {
		return nil
	}
	var ports []vswitch.Port
	if err := f.peer.List(context.Background(), &ports); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ports {
		if slices.Contains(br.Ports, p.UUID) {
			out = append(out, p.Name)
		}
	}
	slices.Sort(out)
	return out
}

// removePort plays an operator deleting a port by hand (ovs-vsctl del-port).
func (f *fakeOVS) removePort(t *testing.T, bridge, name string) {
	t.Helper()
	br := &vswitch.Bridge{Name: bridge}
	port := &vswitch.Port{Name: name}
	if err := f.peer.Get(context.Background(), br); err != nil {
		t.Fatal(err)
	}
	if err := f.peer.Get(context.Background(), port); err != nil {
		t.Fatal(err)
	}
	ops, err := f.peer.Where(br).Mutate(br, model.Mutation{Field: &br.Ports, Mutator: ovsdb.MutateOperationDelete, Value: []string{port.UUID}})
	if err != nil {
		t.Fatal(err)
	}
	f.transact(t, ops)
}

// checkPatchPair checks the pair to physBridge and returns the trunks of
// its integration end.
func checkPatchPair(t *testing.T, f *fakeOVS, physnet, physBridge string) []int {
	t.Helper()
	intName, physName := "int-"+physBridge, "phy-"+physBridge
	testutil.Eventually(t, "patch pair to "+physBridge, testWait, func() bool {
		return slices.Contains(f.bridgePorts(t, "br-int"), intName) && slices.Contains(f.bridgePorts(t, physBridge), physName)
	})
	ports := f.ports(t)
	for name, peer := range map[string]string{intName: physName, physName: intName} {
		p := ports[name]
		if p.ExternalIDs[ownerKey] != "hv1" || p.ExternalIDs[physnetKey] != physnet {
			t.Errorf("port %s external_ids = %v, want our marker and %s", name, p.ExternalIDs, physnet)
		}
		iface := &vswitch.Interface{Name: name}
		if err := f.peer.Get(context.Background(), iface); err != nil {
			t.Fatal(err)
		}
		if iface.Type != "patch" || iface.Options["peer"] != peer || iface.ExternalIDs[ownerKey] != "hv1" {
			t.Errorf("interface %s = type %q options %v ids %v, want a patch to %s with our marker",
				name, iface.Type, iface.Options, iface.ExternalIDs, peer)
		}
	}
	if phys := ports[physName]; phys.VLANMode != nil || len(phys.Trunks) != 0 || phys.Tag != nil {
		t.Errorf("port %s on the physical bridge: mode %v trunks %v tag %v, want a plain port",
			physName, phys.VLANMode, phys.Trunks, phys.Tag)
	}
	in := ports[intName]
	if in.VLANMode == nil || *in.VLANMode != vswitch.PortVLANModeTrunk || in.Tag != nil {
		t.Errorf("port %s: mode %v tag %v, want a trunk without tag", intName, in.VLANMode, in.Tag)
	}
	if len(in.Trunks) == 0 || slices.Contains(in.Trunks, 0) || slices.Contains(in.Trunks, agent.DeadVLAN) {
		t.Errorf("port %s trunks %v: must be a non-empty list without 0 and %d", intName, in.Trunks, agent.DeadVLAN)
	}
	return slices.Sorted(slices.Values(in.Trunks))
}

func trunksOf(t *testing.T, f *fakeOVS, name string) []int {
	t.Helper()
	return slices.Sorted(slices.Values(f.ports(t)[name].Trunks)) // a set: any order
}

func TestStartCreatesPatchPairInOneTransaction(t *testing.T) {
	f := startFakeOVS(t)
	f.addBridge(t, "br-phys", DatapathNetdev)
	d := startMapped(t, f, map[string]string{"physnet1": "br-phys"})
	if n := d.transactions.Load(); n != 2 {
		t.Errorf("Start made %d transactions, want 2 (integration bridge, patch pair)", n)
	}
	trunks := checkPatchPair(t, f, "physnet1", "br-phys")
	if !slices.Equal(trunks, []int{4094}) {
		t.Errorf("idle patch port trunks %v, want the placeholder [4094]", trunks)
	}
	if err := d.Ready(); err != nil {
		t.Errorf("Ready: %v", err)
	}
	// A restart adopts the pair as it is.
	d2 := startMapped(t, f, map[string]string{"physnet1": "br-phys"})
	if n := d2.transactions.Load(); n != 0 {
		t.Errorf("second Start made %d transactions, want 0", n)
	}
}

func TestSyncTrunksVLANsInUse(t *testing.T) {
	f := startFakeOVS(t)
	f.addBridge(t, "br-phys", DatapathNetdev)
	d := startMapped(t, f, map[string]string{"physnet1": "br-phys"})
	a, b, c := wired(0, 101), wired(1, 100), wired(2, 102)
	c.AdminUp = false
	c.VLAN = agent.DeadVLAN
	tx := d.transactions.Load()
	syncOK(t, d, a, b, c)
	if n := d.transactions.Load() - tx; n != 1 {
		t.Errorf("Sync made %d transactions, want 1 (ports and trunks together)", n)
	}
	// c is quarantined (tag 4095) but keeps its network's VLAN reserved:
	// 4095 itself is never trunked.
	testutil.Eventually(t, "trunks of the VLANs in use", testWait, func() bool {
		return slices.Equal(trunksOf(t, f, "int-br-phys"), []int{100, 101, 102})
	})
	checkPatchPair(t, f, "physnet1", "br-phys")
	for range 5 { // several passes: the set's order must not look like a change
		tx = d.transactions.Load()
		syncOK(t, d, a, b, c)
		if n := d.transactions.Load() - tx; n != 0 {
			t.Errorf("unchanged Sync made %d transactions, want 0", n)
		}
	}
	syncOK(t, d, a)
	testutil.Eventually(t, "trunks shrink", testWait, func() bool { return slices.Equal(trunksOf(t, f, "int-br-phys"), []int{101}) })
	// No port left: a placeholder nothing uses, never the empty list
	// (which OVS reads as every VLAN).
	syncOK(t, d)
	testutil.Eventually(t, "placeholder", testWait, func() bool { return slices.Equal(trunksOf(t, f, "int-br-phys"), []int{4094}) })
}

func TestSyncHealsPatchPair(t *testing.T) {
	f := startFakeOVS(t)
	f.addBridge(t, "br-phys", DatapathNetdev)
	d := startMapped(t, f, map[string]string{"physnet1": "br-phys"})
	a := wired(0, 100)
	syncOK(t, d, a)
	checkPatchPair(t, f, "physnet1", "br-phys")
	f.removePort(t, "br-int", "int-br-phys")
	f.removePort(t, "br-phys", "phy-br-phys")
	testutil.Eventually(t, "ports gone in the agent's cache", testWait, func() bool {
		s, err := d.snapshot(context.Background())
		return err == nil && s.portByName["int-br-phys"] == nil && s.portByName["phy-br-phys"] == nil
	})
	syncOK(t, d, a)
	if trunks := checkPatchPair(t, f, "physnet1", "br-phys"); !slices.Equal(trunks, []int{100}) {
		t.Errorf("healed trunks %v, want [100]", trunks)
	}
	// Trunks changed by hand to every VLAN are put back.
	port := &vswitch.Port{Name: "int-br-phys"}
	if err := f.peer.Get(context.Background(), port); err != nil {
		t.Fatal(err)
	}
	port.Trunks = nil
	ops, err := f.peer.Where(port).Update(port, &port.Trunks)
	if err != nil {
		t.Fatal(err)
	}
	f.transact(t, ops)
	testutil.Eventually(t, "trunks drift in the agent's cache", testWait, func() bool {
		s, err := d.snapshot(context.Background())
		return err == nil && len(s.portByName["int-br-phys"].Trunks) == 0
	})
	root := &vswitch.OpenvSwitch{UUID: f.rootUUID}
	if err := f.peer.Get(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	cfgBefore := root.NextCfg
	syncOK(t, d, a)
	testutil.Eventually(t, "trunks healed", testWait, func() bool { return slices.Equal(trunksOf(t, f, "int-br-phys"), []int{100}) })
	// vswitchd applies a trunks-only change only when told to reconfigure.
	testutil.Eventually(t, "next_cfg bumped", testWait, func() bool {
		return f.peer.Get(context.Background(), root) == nil && root.NextCfg > cfgBefore
	})
}

func TestMissingPhysicalBridge(t *testing.T) {
	f := startFakeOVS(t)
	d := startMapped(t, f, map[string]string{"physnet1": "br-phys"})
	want := "physical bridge br-phys for physnet1 does not exist"
	if err := d.Ready(); err == nil || err.Error() != want {
		t.Fatalf("Ready = %v, want %q", err, want)
	}
	a := wired(0, 100)
	syncOK(t, d, a)
	f.setInterface(t, "tapa", 5, "", "up")
	testutil.Eventually(t, "ofport in the agent's cache", testWait, func() bool {
		s, err := d.snapshot(context.Background())
		return err == nil && s.ifByName["tapa"] != nil && s.ifByName["tapa"].Ofport != nil
	})
	// Wired (VMs on this host can talk) but reaching nothing beyond it.
	st := syncOK(t, d, a)[a.AttachmentID]
	if st.Status != agent.StatusDown || st.Reason != want {
		t.Errorf("port on a physnet without its bridge: %+v, want DOWN %q", st, want)
	}
	if got := f.bridgePorts(t, "br-int"); !slices.Equal(got, []string{"br-int", "tapa"}) {
		t.Errorf("br-int ports %v, want no patch port without its peer bridge", got)
	}
	// The operator creates the bridge: the next pass connects it.
	f.addBridge(t, "br-phys", DatapathNetdev)
	testutil.Eventually(t, "Ready", testWait, func() bool { return d.Ready() == nil })
	st = syncOK(t, d, a)[a.AttachmentID]
	if st.Status != agent.StatusUp {
		t.Errorf("after the bridge appeared: %+v, want UP", st)
	}
	if trunks := checkPatchPair(t, f, "physnet1", "br-phys"); !slices.Equal(trunks, []int{100}) {
		t.Errorf("trunks %v, want [100]", trunks)
	}
}

func TestSameVLANOnTwoPhysnets(t *testing.T) {
	f := startFakeOVS(t)
	f.addBridge(t, "br-a", DatapathNetdev)
	f.addBridge(t, "br-b", DatapathNetdev)
	d := startMapped(t, f, map[string]string{"physnet1": "br-a", "physnet2": "br-b"})
	ta, tb := checkPatchPair(t, f, "physnet1", "br-a"), checkPatchPair(t, f, "physnet2", "br-b")
	if slices.Equal(ta, tb) {
		t.Errorf("two idle physnets share placeholder trunks %v: they would be bridged", ta)
	}
	// physnet2's network is wired first; physnet1's, with the same VLAN,
	// comes later and is refused although its name sorts first.
	b := onPhysnet(1, 100, "physnet2")
	syncOK(t, d, b)
	a := onPhysnet(0, 100, "physnet1")
	states := syncOK(t, d, a, b)
	if st := states[a.AttachmentID]; st.Status != agent.StatusFailed ||
		!strings.Contains(st.Reason, "VLAN 100 of physical network physnet1") || !strings.Contains(st.Reason, "physnet2") {
		t.Errorf("later physnet on the same VLAN: %+v, want FAILED naming both", st)
	}
	if st := states[b.AttachmentID]; st.Status == agent.StatusFailed {
		t.Errorf("the physnet already wired lost its VLAN: %+v", st)
	}
	if _, ok := f.ports(t)["tapa"]; ok {
		t.Error("refused port was put on br-int")
	}
	testutil.Eventually(t, "trunks", testWait, func() bool {
		return slices.Equal(trunksOf(t, f, "int-br-b"), []int{100}) && !slices.Contains(trunksOf(t, f, "int-br-a"), 100)
	})
	// Two fresh ports, neither wired: the first name wins, deterministically.
	f2 := startFakeOVS(t)
	f2.addBridge(t, "br-a", DatapathNetdev)
	f2.addBridge(t, "br-b", DatapathNetdev)
	d2 := startMapped(t, f2, map[string]string{"physnet1": "br-a", "physnet2": "br-b"})
	states = syncOK(t, d2, b, a)
	if states[a.AttachmentID].Status == agent.StatusFailed || states[b.AttachmentID].Status != agent.StatusFailed {
		t.Errorf("fresh clash: %+v, want physnet2's port FAILED", states)
	}
}

func TestSegmentsTheDatapathRefuses(t *testing.T) {
	f := startFakeOVS(t)
	f.addBridge(t, "br-phys", DatapathNetdev)
	d := startMapped(t, f, map[string]string{"physnet1": "br-phys"})
	unmapped := onPhysnet(0, 100, "physnet9")
	flat := wired(1, 0)
	flat.Segment = agent.Segment{Type: agent.NetworkTypeFlat, PhysicalNetwork: "physnet1"}
	patch := wired(2, 100)
	patch.Device = "int-br-phys"
	states := syncOK(t, d, unmapped, flat, patch)
	for w, want := range map[*agent.WiredPort]string{
		&unmapped: `physical network "physnet9" has no bridge mapping on host hv1`,
		&flat:     "flat networks are not carried by the ovs datapath yet",
		&patch:    "device int-br-phys is the patch port of physical network physnet1",
	} {
		if st := states[w.AttachmentID]; st.Status != agent.StatusFailed || !strings.Contains(st.Reason, want) {
			t.Errorf("%s: %+v, want FAILED %q", w.AttachmentID, st, want)
		}
	}
	checkPatchPair(t, f, "physnet1", "br-phys")
}

func TestWithoutMappingsVLANsStayLocal(t *testing.T) {
	f := startFakeOVS(t)
	d := startDatapath(t, f, DatapathNetdev)
	a, b := onPhysnet(0, 100, "physnet1"), onPhysnet(1, 100, "physnet2")
	states := syncOK(t, d, a, b)
	if states[a.AttachmentID].Status == agent.StatusFailed || states[b.AttachmentID].Status != agent.StatusFailed {
		t.Errorf("standalone host: %+v, want physnet1 wired and physnet2 refused (same VLAN on one bridge)", states)
	}
	if got := f.bridgePorts(t, "br-int"); !slices.Equal(got, []string{"br-int", "tapa"}) {
		t.Errorf("br-int ports %v, want no patch port without mappings", got)
	}
}

func TestDroppedMappingRemovesPatchPair(t *testing.T) {
	f := startFakeOVS(t)
	f.addBridge(t, "br-a", DatapathNetdev)
	f.addBridge(t, "br-b", DatapathNetdev)
	d := startMapped(t, f, map[string]string{"physnet1": "br-a"})
	checkPatchPair(t, f, "physnet1", "br-a")
	_ = d.Close()
	d = startMapped(t, f, map[string]string{"physnet2": "br-b"})
	syncOK(t, d)
	testutil.Eventually(t, "stale pair gone", testWait, func() bool {
		return !slices.Contains(f.bridgePorts(t, "br-int"), "int-br-a") && len(f.bridgePorts(t, "br-a")) == 0
	})
	checkPatchPair(t, f, "physnet2", "br-b")
}

func TestNewValidatesMappings(t *testing.T) {
	for name, m := range map[string]map[string]string{
		"integration bridge": {"physnet1": "br-int"},
		"bridge twice":       {"physnet1": "br-a", "physnet2": "br-a"},
		"empty bridge":       {"physnet1": ""},
	} {
		if _, err := New(Config{OVSDB: "unix:/nonexistent", Host: "hv1", BridgeMappings: m}, nil); err == nil {
			t.Errorf("%s: New accepted %v", name, m)
		}
	}
}
