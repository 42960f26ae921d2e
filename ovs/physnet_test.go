package ovs

import (
	"context"
	"fmt"
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
	w.NetworkID = fmt.Sprintf("%s-net-%d", pn, vlan)
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

// checkPatchPair checks network net's patch pair to physBridge: the
// integration end an access port on localVLAN, the physical end an access
// port on physTag, or for a flat network (physTag 0) a trunk of VLAN 0 only.
func checkPatchPair(t *testing.T, f *fakeOVS, net, physnet, physBridge string, localVLAN, physTag int) {
	t.Helper()
	intName, physName := patchNames(net)
	testutil.Eventually(t, "patch pair of "+net+" to "+physBridge, testWait, func() bool {
		return slices.Contains(f.bridgePorts(t, "br-int"), intName) && slices.Contains(f.bridgePorts(t, physBridge), physName)
	})
	ports := f.ports(t)
	for name, peer := range map[string]string{intName: physName, physName: intName} {
		p := ports[name]
		if p.ExternalIDs[ownerKey] != "hv1" || p.ExternalIDs[physnetKey] != physnet || p.ExternalIDs[networkKey] != net {
			t.Errorf("port %s external_ids = %v, want our marker, %s and %s", name, p.ExternalIDs, physnet, net)
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
	checkAccess(t, ports[intName], localVLAN)
	if physTag == 0 {
		phys := ports[physName]
		if phys.Tag != nil || phys.VLANMode == nil || *phys.VLANMode != vswitch.PortVLANModeTrunk || !slices.Equal(phys.Trunks, []int{0}) {
			t.Errorf("flat network's port %s: tag %v mode %v trunks %v, want a trunk of VLAN 0 alone", physName, phys.Tag, phys.VLANMode, phys.Trunks)
		}
		return
	}
	checkAccess(t, ports[physName], physTag)
}

// checkAccess checks that p is an access port on VLAN tag.
func checkAccess(t *testing.T, p vswitch.Port, tag int) {
	t.Helper()
	if p.Tag == nil || *p.Tag != tag || p.VLANMode == nil || *p.VLANMode != vswitch.PortVLANModeAccess || len(p.Trunks) != 0 {
		t.Errorf("port %s: tag %v mode %v trunks %v, want an access port on VLAN %d", p.Name, p.Tag, p.VLANMode, p.Trunks, tag)
	}
}

func tagOf(t *testing.T, f *fakeOVS, name string) int {
	t.Helper()
	p, ok := f.ports(t)[name]
	if !ok || p.Tag == nil {
		return 0
	}
	return *p.Tag
}

func TestStartMakesNoPatchPort(t *testing.T) {
	f := startFakeOVS(t)
	f.addBridge(t, "br-phys", DatapathNetdev)
	d := startMapped(t, f, map[string]string{"physnet1": "br-phys"})
	if n := d.transactions.Load(); n != 1 {
		t.Errorf("Start made %d transactions, want 1 (the integration bridge): patch pairs are per network", n)
	}
	if err := d.Ready(); err != nil {
		t.Errorf("Ready: %v", err)
	}
	// The bridge's own port is on the dead VLAN, protected.
	if p := f.ports(t)["br-int"]; !p.Protected {
		t.Errorf("br-int's local port is not protected: %+v", p)
	} else {
		checkAccess(t, vswitch.Port{Name: p.Name, Tag: p.Tag, VLANMode: p.VLANMode}, agent.DeadVLAN)
	}
}

func TestSyncPatchPairPerNetwork(t *testing.T) {
	f := startFakeOVS(t)
	f.addBridge(t, "br-phys", DatapathNetdev)
	d := startMapped(t, f, map[string]string{"physnet1": "br-phys"})
	a, b, c := wired(0, 101), wired(1, 100), wired(2, 102)
	c.AdminUp = false
	flat := wired(3, 0)
	flat.Segment, flat.NetworkID = agent.Segment{Type: agent.NetworkTypeFlat, PhysicalNetwork: "physnet1"}, "flat-net"
	tx := d.transactions.Load()
	syncOK(t, d, a, b, c, flat)
	if n := d.transactions.Load() - tx; n != 1 {
		t.Errorf("Sync made %d transactions, want 1 (ports and patch pairs together)", n)
	}
	// Each network keeps its segmentation id as local VLAN (free here);
	// the quarantined port's network has its pair on its VLAN all the same.
	checkPatchPair(t, f, a.NetworkID, "physnet1", "br-phys", 101, 101)
	checkPatchPair(t, f, b.NetworkID, "physnet1", "br-phys", 100, 100)
	checkPatchPair(t, f, c.NetworkID, "physnet1", "br-phys", 102, 102)
	checkPatchPair(t, f, flat.NetworkID, "physnet1", "br-phys", 4094, 0)
	if tagOf(t, f, "tapc") != agent.DeadVLAN || tagOf(t, f, "tapd") != 4094 {
		t.Errorf("tags: tapc %d, tapd %d; want 4095 and the flat network's 4094", tagOf(t, f, "tapc"), tagOf(t, f, "tapd"))
	}
	for range 5 { // several passes: sets' order must not look like a change
		tx = d.transactions.Load()
		syncOK(t, d, a, b, c, flat)
		if n := d.transactions.Load() - tx; n != 0 {
			t.Errorf("unchanged Sync made %d transactions, want 0", n)
		}
	}
	syncOK(t, d, a)
	testutil.Eventually(t, "pairs of networks gone from the host removed", testWait, func() bool {
		want := []string{"br-int", "qpi-net-101", "tapa"}
		return slices.Equal(f.bridgePorts(t, "br-int"), want) && slices.Equal(f.bridgePorts(t, "br-phys"), []string{"qpp-net-101"})
	})
}

func TestSyncHealsPatchPair(t *testing.T) {
	f := startFakeOVS(t)
	f.addBridge(t, "br-phys", DatapathNetdev)
	d := startMapped(t, f, map[string]string{"physnet1": "br-phys"})
	a := wired(0, 100)
	syncOK(t, d, a)
	checkPatchPair(t, f, a.NetworkID, "physnet1", "br-phys", 100, 100)
	intName, physName := patchNames(a.NetworkID)
	f.removePort(t, "br-int", intName)
	f.removePort(t, "br-phys", physName)
	testutil.Eventually(t, "ports gone in the agent's cache", testWait, func() bool {
		s, err := d.snapshot(context.Background())
		return err == nil && s.portByName[intName] == nil && s.portByName[physName] == nil
	})
	syncOK(t, d, a)
	checkPatchPair(t, f, a.NetworkID, "physnet1", "br-phys", 100, 100)
	// The physical end turned into a trunk of every VLAN by hand is put back,
	// and vswitchd told to apply it.
	port := &vswitch.Port{Name: physName}
	if err := f.peer.Get(context.Background(), port); err != nil {
		t.Fatal(err)
	}
	trunk := vswitch.PortVLANModeTrunk
	port.Tag, port.VLANMode = nil, &trunk
	ops, err := f.peer.Where(port).Update(port, &port.Tag, &port.VLANMode)
	if err != nil {
		t.Fatal(err)
	}
	f.transact(t, ops)
	testutil.Eventually(t, "drift in the agent's cache", testWait, func() bool {
		s, err := d.snapshot(context.Background())
		return err == nil && s.portByName[physName].Tag == nil
	})
	root := &vswitch.OpenvSwitch{UUID: f.rootUUID}
	if err := f.peer.Get(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	cfgBefore := root.NextCfg
	syncOK(t, d, a)
	checkPatchPair(t, f, a.NetworkID, "physnet1", "br-phys", 100, 100)
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
	checkPatchPair(t, f, a.NetworkID, "physnet1", "br-phys", 100, 100)
}

func TestSameVLANOnTwoPhysnets(t *testing.T) {
	f := startFakeOVS(t)
	f.addBridge(t, "br-a", DatapathNetdev)
	f.addBridge(t, "br-b", DatapathNetdev)
	d := startMapped(t, f, map[string]string{"physnet1": "br-a", "physnet2": "br-b"})
	// physnet2's network is wired first and keeps VLAN 100 as its local
	// VLAN; physnet1's, with the same VLAN, is translated.
	b := onPhysnet(1, 100, "physnet2")
	syncOK(t, d, b)
	a := onPhysnet(0, 100, "physnet1")
	states := syncOK(t, d, a, b)
	for _, w := range []agent.WiredPort{a, b} {
		if st := states[w.AttachmentID]; st.Status == agent.StatusFailed {
			t.Errorf("%s: %+v, want it wired", w.AttachmentID, st)
		}
	}
	checkPatchPair(t, f, b.NetworkID, "physnet2", "br-b", 100, 100)
	checkPatchPair(t, f, a.NetworkID, "physnet1", "br-a", 4094, 100)
	if ta, tb := tagOf(t, f, "tapa"), tagOf(t, f, "tapb"); ta != 4094 || tb != 100 {
		t.Errorf("tags tapa %d tapb %d, want 4094 and 100", ta, tb)
	}
	// A restart, with the ports in the other order, adopts the tags.
	_ = d.Close()
	d2 := startMapped(t, f, map[string]string{"physnet1": "br-a", "physnet2": "br-b"})
	tx := d2.transactions.Load()
	syncOK(t, d2, a, b)
	if n := d2.transactions.Load() - tx; n != 0 {
		t.Errorf("restarted agent made %d transactions, want 0 (local VLANs adopted)", n)
	}
}

func TestSegmentsTheDatapathRefuses(t *testing.T) {
	f := startFakeOVS(t)
	f.addBridge(t, "br-phys", DatapathNetdev)
	d := startMapped(t, f, map[string]string{"physnet1": "br-phys"})
	unmapped := onPhysnet(0, 100, "physnet9")
	vxlan := wired(1, 0)
	vxlan.Segment, vxlan.NetworkID = agent.Segment{Type: agent.NetworkTypeVXLAN, SegmentationID: 5000}, "vx-net"
	patch := wired(2, 100)
	patch.Device = "int-br-phys"
	gre := wired(3, 0)
	gre.Segment, gre.NetworkID = agent.Segment{Type: "gre", SegmentationID: 7}, "gre-net"
	states := syncOK(t, d, unmapped, vxlan, patch, gre)
	for w, want := range map[*agent.WiredPort]string{
		&unmapped: `physical network "physnet9" has no bridge mapping on host hv1`,
		&vxlan:    "host hv1 has no VXLAN tunnel endpoint (--vxlan-local-ip)",
		&patch:    "device int-br-phys is the patch port of physical network physnet1",
		&gre:      `network type "gre" is not carried by the ovs datapath`,
	} {
		if st := states[w.AttachmentID]; st.Status != agent.StatusFailed || !strings.Contains(st.Reason, want) {
			t.Errorf("%s: %+v, want FAILED %q", w.AttachmentID, st, want)
		}
	}
}

func TestWithoutMappingsVLANsStayLocal(t *testing.T) {
	f := startFakeOVS(t)
	d := startDatapath(t, f, DatapathNetdev)
	a, b := onPhysnet(0, 100, "physnet1"), onPhysnet(1, 100, "physnet2")
	local := wired(2, 0)
	local.Segment, local.NetworkID = agent.Segment{Type: agent.NetworkTypeLocal}, "local-net"
	states := syncOK(t, d, a, b, local)
	for id, st := range states {
		if st.Status == agent.StatusFailed {
			t.Errorf("standalone host: %s %+v, want wired", id, st)
		}
	}
	if got := f.bridgePorts(t, "br-int"); !slices.Equal(got, []string{"br-int", "tapa", "tapb", "tapc"}) {
		t.Errorf("br-int ports %v, want no patch port without mappings", got)
	}
	tags := map[int]bool{tagOf(t, f, "tapa"): true, tagOf(t, f, "tapb"): true, tagOf(t, f, "tapc"): true}
	if len(tags) != 3 || !tags[100] {
		t.Errorf("tags %v: want three distinct local VLANs, one of them 100", tags)
	}
}

func TestDroppedMappingRemovesPatchPair(t *testing.T) {
	f := startFakeOVS(t)
	f.addBridge(t, "br-a", DatapathNetdev)
	f.addBridge(t, "br-b", DatapathNetdev)
	d := startMapped(t, f, map[string]string{"physnet1": "br-a"})
	a := onPhysnet(0, 100, "physnet1")
	syncOK(t, d, a)
	checkPatchPair(t, f, a.NetworkID, "physnet1", "br-a", 100, 100)
	_ = d.Close()
	d = startMapped(t, f, map[string]string{"physnet2": "br-b"})
	st := syncOK(t, d, a)[a.AttachmentID]
	if st.Status != agent.StatusFailed {
		t.Errorf("port of an unmapped physnet: %+v, want FAILED", st)
	}
	testutil.Eventually(t, "stale pair gone", testWait, func() bool {
		return !slices.Contains(f.bridgePorts(t, "br-int"), "qpi-physnet1-n") && len(f.bridgePorts(t, "br-a")) == 0
	})
}

// TestUpgradeFromTrunkPair: a host wired by the earlier layout (one trunk
// pair per physical network, VM ports tagged with the segmentation id) is
// migrated in one transaction that retags no VM port.
func TestUpgradeFromTrunkPair(t *testing.T) {
	f := startFakeOVS(t)
	f.addBridge(t, "br-phys", DatapathNetdev)
	d := startMapped(t, f, map[string]string{"physnet1": "br-phys"})
	a, b := wired(0, 101), wired(1, 102)
	syncOK(t, d, a, b)
	f.makeLegacyPair(t, "physnet1", "br-phys", []int{101, 102})
	intName, physName := patchNames(a.NetworkID)
	f.removePort(t, "br-int", intName)
	f.removePort(t, "br-phys", physName)
	bInt, bPhys := patchNames(b.NetworkID)
	f.removePort(t, "br-int", bInt)
	f.removePort(t, "br-phys", bPhys)
	_ = d.Close()
	if got := f.bridgePorts(t, "br-int"); !slices.Equal(got, []string{"br-int", "int-br-phys", "tapa", "tapb"}) {
		t.Fatalf("legacy layout not in place: br-int ports %v", got)
	}

	d = startMapped(t, f, map[string]string{"physnet1": "br-phys"})
	tx := d.transactions.Load()
	syncOK(t, d, a, b)
	if n := d.transactions.Load() - tx; n != 1 {
		t.Errorf("migration made %d transactions, want 1", n)
	}
	checkPatchPair(t, f, a.NetworkID, "physnet1", "br-phys", 101, 101)
	checkPatchPair(t, f, b.NetworkID, "physnet1", "br-phys", 102, 102)
	testutil.Eventually(t, "legacy pair gone", testWait, func() bool {
		return !slices.Contains(f.bridgePorts(t, "br-int"), "int-br-phys") && !slices.Contains(f.bridgePorts(t, "br-phys"), "phy-br-phys")
	})
	if tagOf(t, f, "tapa") != 101 || tagOf(t, f, "tapb") != 102 {
		t.Errorf("VM ports retagged: %d %d", tagOf(t, f, "tapa"), tagOf(t, f, "tapb"))
	}
}

// makeLegacyPair builds the per-physical-network trunk pair of earlier
// versions, as they made it.
func (f *fakeOVS) makeLegacyPair(t *testing.T, physnet, physBridge string, trunks []int) {
	t.Helper()
	intName, physName := legacyPatchNames(physBridge)
	ids := map[string]string{ownerKey: "hv1", physnetKey: physnet}
	trunk := vswitch.PortVLANModeTrunk
	var ops []ovsdb.Operation
	for _, end := range []struct{ bridge, name, peer, uuid string }{
		{"br-int", intName, physName, "li"}, {physBridge, physName, intName, "lp"},
	} {
		iface := &vswitch.Interface{UUID: end.uuid + "if", Name: end.name, Type: "patch", Options: map[string]string{"peer": end.peer}, ExternalIDs: ids}
		port := &vswitch.Port{UUID: end.uuid + "port", Name: end.name, Interfaces: []string{iface.UUID}, ExternalIDs: ids}
		if end.bridge == "br-int" {
			port.VLANMode, port.Trunks = &trunk, trunks
		}
		for _, m := range []model.Model{iface, port} {
			op, err := f.peer.Create(m)
			if err != nil {
				t.Fatal(err)
			}
			ops = append(ops, op...)
		}
		br := &vswitch.Bridge{Name: end.bridge}
		if err := f.peer.Get(context.Background(), br); err != nil {
			t.Fatal(err)
		}
		mut, err := f.peer.Where(br).Mutate(br, model.Mutation{Field: &br.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{port.UUID}})
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, mut...)
	}
	f.transact(t, ops)
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
