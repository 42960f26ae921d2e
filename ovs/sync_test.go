package ovs

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/internal/testovsdb"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

// fakeOVS is libovsdb's in-process server holding the Open_vSwitch schema,
// plus a second client playing the operator and ovs-vswitchd.
type fakeOVS struct {
	endpoint string
	peer     client.Client
	rootUUID string
}

func startFakeOVS(t *testing.T) *fakeOVS {
	t.Helper()
	clientModel, err := vswitch.FullDatabaseModel()
	if err != nil {
		t.Fatal(err)
	}
	logger := logr.Discard()
	f := &fakeOVS{endpoint: testovsdb.Serve(t, testovsdb.DB{Schema: vswitch.Schema(), Model: clientModel})}
	f.peer, err = client.NewOVSDBClient(clientModel, client.WithEndpoint(f.endpoint), client.WithLogger(&logger))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := f.peer.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.peer.Close)
	if _, err := f.peer.MonitorAll(ctx); err != nil {
		t.Fatal(err)
	}
	root := &vswitch.OpenvSwitch{UUID: "root"}
	ops, err := f.peer.Create(root)
	if err != nil {
		t.Fatal(err)
	}
	res := f.transact(t, ops)
	f.rootUUID = res[0].UUID.GoUUID
	return f
}

func (f *fakeOVS) transact(t *testing.T, ops []ovsdb.Operation) []ovsdb.OperationResult {
	t.Helper()
	res, err := f.peer.Transact(context.Background(), ops...)
	if err == nil {
		_, err = ovsdb.CheckOperationResults(res, ops)
	}
	if err != nil {
		t.Fatalf("peer transaction: %v", err)
	}
	return res
}

// addBridge adds a bridge the way an operator would, with no marker.
func (f *fakeOVS) addBridge(t *testing.T, name, dpType string) {
	t.Helper()
	br := &vswitch.Bridge{UUID: "br", Name: name, DatapathType: dpType}
	ops, err := f.peer.Create(br)
	if err != nil {
		t.Fatal(err)
	}
	root := &vswitch.OpenvSwitch{UUID: f.rootUUID}
	mut, err := f.peer.Where(root).Mutate(root, model.Mutation{Field: &root.Bridges, Mutator: ovsdb.MutateOperationInsert, Value: []string{br.UUID}})
	if err != nil {
		t.Fatal(err)
	}
	f.transact(t, append(ops, mut...))
}

// addForeignPort adds a port without the ownership marker to bridge.
func (f *fakeOVS) addForeignPort(t *testing.T, bridge, name string) {
	t.Helper()
	var brs []vswitch.Bridge
	testutil.Eventually(t, "bridge in peer cache", testWait, func() bool {
		brs = nil
		_ = f.peer.List(context.Background(), &brs)
		return slices.ContainsFunc(brs, func(b vswitch.Bridge) bool { return b.Name == bridge })
	})
	br := &brs[slices.IndexFunc(brs, func(b vswitch.Bridge) bool { return b.Name == bridge })]
	iface := &vswitch.Interface{UUID: "fi", Name: name, ExternalIDs: map[string]string{"owner": "operator"}}
	port := &vswitch.Port{UUID: "fp", Name: name, Interfaces: []string{"fi"}, ExternalIDs: map[string]string{"owner": "operator"}}
	ops, err := f.peer.Create(iface)
	if err != nil {
		t.Fatal(err)
	}
	portOps, err := f.peer.Create(port)
	if err != nil {
		t.Fatal(err)
	}
	ops = append(ops, portOps...)
	mut, err := f.peer.Where(br).Mutate(br, model.Mutation{Field: &br.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{"fp"}})
	if err != nil {
		t.Fatal(err)
	}
	f.transact(t, append(ops, mut...))
}

// setInterface plays ovs-vswitchd: it writes ofport, error and link_state.
func (f *fakeOVS) setInterface(t *testing.T, name string, ofport int, errText, link string) {
	t.Helper()
	iface := &vswitch.Interface{Name: name}
	testutil.Eventually(t, "interface "+name+" in peer cache", testWait, func() bool {
		return f.peer.Get(context.Background(), iface) == nil
	})
	iface.Ofport = &ofport
	iface.Error = nil
	if errText != "" {
		iface.Error = &errText
	}
	iface.LinkState = nil
	if link != "" {
		iface.LinkState = &link
	}
	ops, err := f.peer.Where(iface).Update(iface, &iface.Ofport, &iface.Error, &iface.LinkState)
	if err != nil {
		t.Fatal(err)
	}
	f.transact(t, ops)
}

func (f *fakeOVS) ports(t *testing.T) map[string]vswitch.Port {
	t.Helper()
	var ports []vswitch.Port
	if err := f.peer.List(context.Background(), &ports); err != nil {
		t.Fatal(err)
	}
	out := map[string]vswitch.Port{}
	for _, p := range ports {
		out[p.Name] = p
	}
	return out
}

// testWait bounds what the tests wait for (a change reaching a cache).
const testWait = 10 * time.Second

func startDatapath(t *testing.T, f *fakeOVS, dpType string) *Datapath {
	t.Helper()
	return startConfigured(t, Config{OVSDB: f.endpoint, DatapathType: dpType, Host: "hv1"})
}

// startConfigured starts a datapath with cfg; it is closed with the test.
func startConfigured(t *testing.T, cfg Config) *Datapath {
	t.Helper()
	d, err := New(cfg, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func vlanSegment(vlan int) agent.Segment {
	return agent.Segment{Type: agent.NetworkTypeVLAN, PhysicalNetwork: "physnet1", SegmentationID: vlan}
}

// netOf names the vlan network of VLAN vlan in the tests.
func netOf(vlan int) string { return fmt.Sprintf("net-%d", vlan) }

// onVLAN moves w to the vlan network of VLAN vlan.
func onVLAN(w agent.WiredPort, vlan int) agent.WiredPort {
	w.VLAN, w.Segment, w.NetworkID = vlan, vlanSegment(vlan), netOf(vlan)
	return w
}

func wired(n int, vlan int) agent.WiredPort {
	id := string(rune('a' + n))
	return agent.WiredPort{
		AttachmentID: "att-" + id, PortID: "port-" + id, NetworkID: netOf(vlan),
		Device: "tap" + id, MAC: "fa:16:3e:00:00:0" + id, VMID: "vm-" + id,
		VLAN: vlan, AdminUp: true, Segment: vlanSegment(vlan),
	}
}

func syncOK(t *testing.T, d *Datapath, desired ...agent.WiredPort) map[string]agent.PortState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	states, err := d.Sync(ctx, desired)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if len(states) != len(desired) {
		t.Fatalf("Sync returned %d states for %d ports", len(states), len(desired))
	}
	out := map[string]agent.PortState{}
	for _, s := range states {
		out[s.AttachmentID] = s
	}
	return out
}

func TestStartCreatesBridge(t *testing.T) {
	f := startFakeOVS(t)
	d := startDatapath(t, f, DatapathNetdev)
	if err := d.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	br := &vswitch.Bridge{Name: "br-int"}
	testutil.Eventually(t, "bridge in peer cache", testWait, func() bool { return f.peer.Get(context.Background(), br) == nil })
	if br.DatapathType != DatapathNetdev || br.ExternalIDs[ownerKey] != "hv1" || len(br.Ports) != 1 {
		t.Errorf("bridge = %+v, want netdev, owned by hv1, with its local port", br)
	}
	local := f.ports(t)["br-int"]
	if local.ExternalIDs[ownerKey] != "hv1" {
		t.Errorf("local port = %+v, want our marker", local)
	}
	root := &vswitch.OpenvSwitch{UUID: f.rootUUID}
	if err := f.peer.Get(context.Background(), root); err != nil || !slices.Contains(root.Bridges, br.UUID) {
		t.Errorf("Open_vSwitch.bridges = %v (err %v), want %s", root.Bridges, err, br.UUID)
	}
	// A second agent start must not create a second bridge.
	d2 := startDatapath(t, f, DatapathNetdev)
	if n := d2.transactions.Load(); n != 0 {
		t.Errorf("restart made %d transactions, want 0", n)
	}
}

func TestStartKeepsExistingBridgeType(t *testing.T) {
	f := startFakeOVS(t)
	f.addBridge(t, "br-int", DatapathSystem)
	d := startDatapath(t, f, DatapathNetdev)
	if n := d.transactions.Load(); n != 0 {
		t.Errorf("Start made %d transactions on an existing bridge, want 0", n)
	}
	br := &vswitch.Bridge{Name: "br-int"}
	if err := f.peer.Get(context.Background(), br); err != nil || br.DatapathType != DatapathSystem {
		t.Errorf("bridge datapath_type = %q (err %v), want it kept as system", br.DatapathType, err)
	}
}

func TestSyncCreatesUpdatesDeletes(t *testing.T) {
	f := startFakeOVS(t)
	d := startDatapath(t, f, DatapathNetdev)
	a, b, c := wired(0, 101), wired(1, 101), wired(2, 102)
	c.AdminUp = false

	tx := d.transactions.Load()
	states := syncOK(t, d, a, b, c)
	if n := d.transactions.Load() - tx; n != 1 {
		t.Errorf("create Sync made %d transactions, want 1", n)
	}
	for id, s := range states {
		if s.Status != agent.StatusProvisioning {
			t.Errorf("%s: status %s (%s), want PROVISIONING before vswitchd saw it", id, s.Status, s.Reason)
		}
	}
	ports := f.ports(t)
	wantTags := map[string]int{"tapa": 101, "tapb": 101, "tapc": agent.DeadVLAN}
	wantNets := map[string]string{"tapa": netOf(101), "tapb": netOf(101), "tapc": netOf(102)}
	for dev, tag := range wantTags {
		p, ok := ports[dev]
		if !ok || p.Tag == nil || *p.Tag != tag {
			t.Fatalf("port %s = %+v, want tag %d", dev, p, tag)
		}
		if p.ExternalIDs[ownerKey] != "hv1" || p.ExternalIDs[portIDKey] == "" || p.ExternalIDs[networkKey] != wantNets[dev] {
			t.Errorf("port %s external_ids = %v", dev, p.ExternalIDs)
		}
	}
	iface := &vswitch.Interface{Name: "tapa"}
	if err := f.peer.Get(context.Background(), iface); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ownerKey: "hv1", ifaceIDKey: "att-a", macKey: a.MAC, vmKey: "vm-a", ifaceStatKey: "active"}
	if !mapsEqual(iface.ExternalIDs, want) {
		t.Errorf("interface external_ids = %v, want %v", iface.ExternalIDs, want)
	}

	// Same desired state again: nothing to do, no transaction.
	tx = d.transactions.Load()
	syncOK(t, d, a, b, c)
	if n := d.transactions.Load() - tx; n != 0 {
		t.Errorf("idempotent Sync made %d transactions, want 0", n)
	}

	// Change a tag, admin-up c, drop b: one transaction.
	a = onVLAN(a, 103)
	c.AdminUp = true
	tx = d.transactions.Load()
	syncOK(t, d, a, c)
	if n := d.transactions.Load() - tx; n != 1 {
		t.Errorf("update Sync made %d transactions, want 1", n)
	}
	testutil.Eventually(t, "update visible to peer", testWait, func() bool {
		ports = f.ports(t)
		_, bThere := ports["tapb"]
		return !bThere && *ports["tapa"].Tag == 103 && *ports["tapc"].Tag == 102
	})
	var ifaces []vswitch.Interface
	if err := f.peer.List(context.Background(), &ifaces); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(ifaces, func(i vswitch.Interface) bool { return i.Name == "tapb" }) {
		t.Error("interface tapb was not garbage-collected with its port")
	}
}

func TestSyncLeavesForeignPortsAlone(t *testing.T) {
	f := startFakeOVS(t)
	d := startDatapath(t, f, DatapathNetdev)
	f.addForeignPort(t, "br-int", "tapop")
	testutil.Eventually(t, "foreign port in datapath cache", testWait, func() bool {
		s, err := d.snapshot(context.Background())
		return err == nil && s.portByName["tapop"] != nil
	})

	clash := wired(0, 101)
	clash.Device = "tapop"
	states := syncOK(t, d, clash, wired(1, 101))
	got := states[clash.AttachmentID]
	if got.Status != agent.StatusFailed || got.Reason != "device tapop is already on bridge port not owned by quantum-agent" {
		t.Errorf("clash state = %+v, want FAILED with the not-owned reason", got)
	}
	syncOK(t, d) // nothing desired: our own port goes, the operator's stays
	testutil.Eventually(t, "our port removed", testWait, func() bool { _, ok := f.ports(t)["tapb"]; return !ok })
	p, ok := f.ports(t)["tapop"]
	if !ok || p.Tag != nil || p.ExternalIDs["owner"] != "operator" || len(p.ExternalIDs) != 1 {
		t.Errorf("foreign port = %+v (present %v), want untouched", p, ok)
	}
	if _, ok := f.ports(t)["br-int"]; !ok {
		t.Error("Sync deleted the bridge's local port")
	}
}

func TestSyncReportsInterfaceState(t *testing.T) {
	f := startFakeOVS(t)
	d := startDatapath(t, f, DatapathNetdev)
	a := wired(0, 101)
	syncOK(t, d, a)
	cases := []struct {
		ofport      int
		err, link   string
		status, why string
	}{
		{5, "", "up", agent.StatusUp, ""},
		{5, "", "down", agent.StatusDown, "link of device tapa is down"},
		{-1, "could not open network device tapa (No such device)", "", agent.StatusDown, "device tapa does not exist"},
		{-1, "could not add network device tapa to ofproto (Invalid argument)", "", agent.StatusDown,
			"device tapa: could not add network device tapa to ofproto (Invalid argument)"},
	}
	for _, c := range cases {
		// Drain, so the next signal is about this change.
		select {
		case <-d.Changes():
		default:
		}
		f.setInterface(t, "tapa", c.ofport, c.err, c.link)
		select {
		case <-d.Changes():
		case <-time.After(10 * time.Second):
			t.Fatal("no Changes signal after vswitchd updated the interface")
		}
		var got agent.PortState
		testutil.Eventually(t, "state "+c.status, testWait, func() bool {
			got = syncOK(t, d, a)[a.AttachmentID]
			return got.Status == c.status
		})
		if got.Reason != c.why {
			t.Errorf("ofport %d error %q link %q: reason %q, want %q", c.ofport, c.err, c.link, got.Reason, c.why)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{Host: "h"},
		{OVSDB: "unix:/x"},
		{OVSDB: "unix:/x", Host: "h", DatapathType: "dpdk"},
	} {
		if _, err := New(cfg, nil); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestReadyReportsBrokenDatapath(t *testing.T) {
	f := startFakeOVS(t)
	d := startDatapath(t, f, DatapathNetdev)
	f.setInterface(t, "br-int", -1, "could not open network device br-int (Device or resource busy)", "")
	testutil.Eventually(t, "Ready to fail", testWait, func() bool { return d.Ready() != nil })
	if err := d.Ready(); !strings.Contains(err.Error(), "no working datapath") {
		t.Errorf("Ready = %v, want a no-working-datapath error", err)
	}
	if _, err := d.Sync(context.Background(), []agent.WiredPort{wired(0, 101)}); err == nil {
		t.Error("Sync wired into a bridge without a working datapath")
	}
	f.setInterface(t, "br-int", 65534, "", "up")
	testutil.Eventually(t, "Ready again", testWait, func() bool { return d.Ready() == nil })
	states := syncOK(t, d, agent.WiredPort{AttachmentID: "x", Device: "br-int", Segment: vlanSegment(5)})
	if states["x"].Status != agent.StatusFailed {
		t.Errorf("plugging the bridge's own port: %+v, want FAILED", states["x"])
	}
}

// TestReadyNamesTheKernelModule: on the system datapath, a br-int that
// ovs-vswitchd could not open usually means no openvswitch kernel module
// or no running openvswitch-switch; Ready says so.
func TestReadyNamesTheKernelModule(t *testing.T) {
	f := startFakeOVS(t)
	d := startDatapath(t, f, DatapathSystem)
	f.setInterface(t, "br-int", -1, "could not open network device br-int (Address family not supported by protocol)", "")
	testutil.Eventually(t, "Ready to fail", testWait, func() bool { return d.Ready() != nil })
	err := d.Ready()
	for _, want := range []string{"Address family not supported", "openvswitch kernel module", "openvswitch-switch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Ready = %v, want it to mention %q", err, want)
		}
	}
}

func TestSyncThousandPortsOneTransaction(t *testing.T) {
	if testing.Short() {
		t.Skip("slow with -short")
	}
	f := startFakeOVS(t)
	d := startDatapath(t, f, DatapathNetdev)
	desired := make([]agent.WiredPort, 1000)
	for i := range desired {
		desired[i] = agent.WiredPort{
			AttachmentID: fmt.Sprintf("att-%d", i), PortID: fmt.Sprintf("port-%d", i), NetworkID: netOf(100 + i%10),
			Device: fmt.Sprintf("tap%d", i), VLAN: 100 + i%10, AdminUp: true, Segment: vlanSegment(100 + i%10),
		}
	}
	tx := d.transactions.Load()
	start := time.Now()
	syncOK(t, d, desired...)
	t.Logf("Sync of 1000 new ports: %v", time.Since(start))
	start = time.Now()
	syncOK(t, d, desired...)
	t.Logf("Sync of 1000 unchanged ports: %v", time.Since(start))
	if n := d.transactions.Load() - tx; n != 1 {
		t.Errorf("two Syncs of 1000 ports made %d transactions, want 1", n)
	}
}

func TestSyncRefusesOtherSegmentTypes(t *testing.T) {
	f := startFakeOVS(t)
	d := startDatapath(t, f, DatapathNetdev)
	w := wired(0, 0)
	w.Segment = agent.Segment{Type: agent.NetworkTypeVXLAN, SegmentationID: 5000}
	states := syncOK(t, d, w)
	if st := states[w.AttachmentID]; st.Status != agent.StatusFailed || !strings.Contains(st.Reason, "vxlan") {
		t.Fatalf("vxlan port on OVS: %+v, want FAILED naming the type", st)
	}
}

func TestSyncQuarantinesAndHealsVLANMode(t *testing.T) {
	f := startFakeOVS(t)
	d := startDatapath(t, f, DatapathNetdev)
	w := wired(0, 101)
	w.AdminUp = false
	syncOK(t, d, w)
	p := f.ports(t)[w.Device]
	if p.Tag == nil || *p.Tag != agent.DeadVLAN || p.VLANMode == nil || *p.VLANMode != vswitch.PortVLANModeAccess ||
		!slices.Equal(p.Trunks, []int{agent.DeadVLAN}) {
		t.Fatalf("admin-down port created as tag=%v mode=%v trunks=%v; want 4095, access, [4095]", p.Tag, p.VLANMode, p.Trunks)
	}
	if !p.Protected {
		t.Fatal("admin-down port is not protected: two quarantined ports would reach each other on VLAN 4095")
	}
	w.AdminUp = true
	syncOK(t, d, w)
	p = f.ports(t)[w.Device]
	if p.Tag == nil || *p.Tag != 101 || len(p.Trunks) != 0 || *p.VLANMode != vswitch.PortVLANModeAccess || p.Protected {
		t.Fatalf("admin-up port is tag=%v mode=%v trunks=%v protected=%v; want 101, access, [], false", p.Tag, *p.VLANMode, p.Trunks, p.Protected)
	}

	// A hand-made switch to trunk mode (tag unchanged) is healed, and since
	// ovs-vswitchd does not watch vlan_mode, next_cfg is bumped with it.
	trunk := vswitch.PortVLANModeTrunk
	row := &vswitch.Port{UUID: p.UUID, VLANMode: &trunk}
	ops, err := f.peer.Where(row).Update(row, &row.VLANMode)
	if err != nil {
		t.Fatal(err)
	}
	f.transact(t, ops)
	testutil.Eventually(t, "mode drift in the agent's cache", testWait, func() bool {
		s, err := d.snapshot(context.Background())
		return err == nil && *s.portByName[w.Device].VLANMode == trunk
	})
	root := &vswitch.OpenvSwitch{UUID: f.rootUUID}
	if err := f.peer.Get(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	cfgBefore := root.NextCfg
	syncOK(t, d, w)
	if p = f.ports(t)[w.Device]; *p.VLANMode != vswitch.PortVLANModeAccess {
		t.Fatalf("vlan_mode drift not healed: %s", *p.VLANMode)
	}
	testutil.Eventually(t, "next_cfg bumped", testWait, func() bool {
		return f.peer.Get(context.Background(), root) == nil && root.NextCfg > cfgBefore
	})
}

// TestSyncKeepsPortsOfAnotherQuantumDB: an agent pointed at another (say a
// freshly re-created, empty) Quantum DB must not unplug the VMs the first
// one wired; ports of its own DB are collected as usual.
func TestSyncKeepsPortsOfAnotherQuantumDB(t *testing.T) {
	f := startFakeOVS(t)
	start := func(dbID string) *Datapath {
		return startConfigured(t, Config{OVSDB: f.endpoint, DatapathType: DatapathNetdev, Host: "hv1", QuantumDBID: dbID})
	}
	first := start("db-a")
	syncOK(t, first, wired(0, 101), wired(1, 101))
	if got := f.ports(t)[wired(0, 101).Device].ExternalIDs[dbIDKey]; got != "db-a" {
		t.Fatalf("port marked with Quantum DB %q, want db-a", got)
	}
	_ = first.Close()

	other := start("db-b")
	syncOK(t, other) // nothing desired in db-b
	ports := f.ports(t)
	if _, ok := ports[wired(0, 101).Device]; !ok {
		t.Fatal("a port wired from another Quantum DB was deleted")
	}
	if w := strings.Join(other.Warnings(), "\n"); !strings.Contains(w, "2 ports on bridge br-int were wired from another Quantum DB") {
		t.Fatalf("warnings = %q, want one about 2 ports of another Quantum DB", w)
	}
	// A port the new DB does want is adopted (and re-marked); the rest stay.
	syncOK(t, other, wired(1, 101))
	if got := f.ports(t)[wired(1, 101).Device].ExternalIDs[dbIDKey]; got != "db-b" {
		t.Errorf("adopted port marked %q, want db-b", got)
	}
	_ = other.Close()

	same := start("db-a")
	syncOK(t, same, wired(1, 101))
	if _, ok := f.ports(t)[wired(0, 101).Device]; ok {
		t.Error("the agent of the DB that wired a port did not collect it once unwanted")
	}
}
