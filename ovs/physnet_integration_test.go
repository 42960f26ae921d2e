package ovs

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
)

// outsideVM hangs a VM off physical bridge br as an access port on tag (0:
// untagged), the way a physical switch presents a VLAN to a host.
func outsideVM(t *testing.T, hv *testbed.OVS, name, br string, tag int, ip string) *testbed.VM {
	t.Helper()
	vm := testbed.AddVM(t, hv, name, "o"+name, ip)
	args := []string{"add-port", br, vm.Tap}
	if tag > 0 {
		args = append(args, "tag="+strconv.Itoa(tag))
	}
	hv.Vsctl(args...)
	return vm
}

// TestIntegrationPhysnetPatchPairs checks on a real ovs-vswitchd what the
// per-network patch pairs let through: the same VLAN id on two physical
// networks, a flat network, and nothing else.
func TestIntegrationPhysnetPatchPairs(t *testing.T) {
	testbed.RequireRoot(t)
	hv := testbed.StartOVS(t, testbed.OVSOptions{})
	for _, br := range []string{"br-a", "br-b"} {
		hv.Vsctl("add-br", br, "--", "set", "Bridge", br, "datapath_type=netdev")
	}
	d := startConfigured(t, Config{OVSDB: hv.DBSocket, DatapathType: DatapathNetdev, Host: "hv-it",
		BridgeMappings: map[string]string{"physnet1": "br-a", "physnet2": "br-b"}})

	a100 := outsideVM(t, hv, "a100", "br-a", 100, "198.18.20.11/24")
	a200 := outsideVM(t, hv, "a200", "br-a", 200, "198.18.20.12/24")
	aUntagged := outsideVM(t, hv, "auntag", "br-a", 0, "198.18.20.13/24")
	a4095 := outsideVM(t, hv, "a4095", "br-a", agent.DeadVLAN, "198.18.20.15/24")
	b200 := outsideVM(t, hv, "b200", "br-b", 200, "198.18.20.14/24")
	b100 := outsideVM(t, hv, "b100", "br-b", 100, "198.18.20.16/24")

	x := testbed.AddVM(t, hv, "x", "tapx", "198.18.20.1/24")
	y := testbed.AddVM(t, hv, "y", "tapy", "198.18.20.2/24")
	z := testbed.AddVM(t, hv, "z", "tapz", "198.18.20.3/24")
	q := testbed.AddVM(t, hv, "q", "tapq", "198.18.20.4/24")
	fl := testbed.AddVM(t, hv, "fl", "tapfl", "198.18.20.5/24")
	px, py, pz := hvPort("x", x, 100), hvPort("y", y, 200), hvPort("z", z, 100)
	py.Segment.PhysicalNetwork, py.NetworkID = "physnet2", "net-b200"
	pz.AdminUp, pz.VLAN = false, agent.DeadVLAN // quarantined, on physnet1 VLAN 100
	pq := hvPort("q", q, 100)                   // VLAN 100 of physnet2: the same id as x's
	pq.Segment.PhysicalNetwork, pq.NetworkID = "physnet2", "net-b100"
	pf := hvPort("fl", fl, 0)
	pf.Segment, pf.NetworkID = agent.Segment{Type: agent.NetworkTypeFlat, PhysicalNetwork: "physnet1"}, "net-flat"
	desired := []agent.WiredPort{px, py, pz, pq, pf}
	syncUntil(t, d, "x, y, q and fl up", desired, allUp(px, py, pq, pf))
	if err := d.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if !x.WaitPing(t, a100.IP, true, 20*time.Second) {
		t.Errorf("%s cannot reach VLAN 100 of physnet1 through br-a", x)
	}
	if !y.WaitPing(t, b200.IP, true, 20*time.Second) {
		t.Errorf("%s cannot reach VLAN 200 of physnet2 through br-b", y)
	}
	if !q.WaitPing(t, b100.IP, true, 20*time.Second) {
		t.Errorf("%s cannot reach VLAN 100 of physnet2 through br-b", q)
	}
	if !fl.WaitPing(t, aUntagged.IP, true, 20*time.Second) {
		t.Errorf("%s (flat) cannot reach the untagged wire of physnet1", fl)
	}
	for _, c := range []struct{ from, to *testbed.VM }{{x, a100}, {q, b100}, {fl, aUntagged}} {
		if !c.from.CanTCP(t, c.to) {
			t.Errorf("TCP from %s to %s through the patch ports does not carry data", c.from, c.to)
		}
	}
	isolated := []struct {
		from, to *testbed.VM
		why      string
	}{
		{y, a200, "physnet2's VLAN 200 leaks onto physnet1's bridge"},
		{x, b100, "VLAN 100 of physnet1 reaches VLAN 100 of physnet2"},
		{q, a100, "VLAN 100 of physnet2 reaches VLAN 100 of physnet1"},
		{x, q, "two networks with the same VLAN id meet on br-int"},
		{x, aUntagged, "untagged traffic crosses a vlan network's patch port"},
		{fl, a100, "a tagged VLAN of the wire leaks into the flat network"},
		{fl, x, "the flat network reaches a vlan network"},
		{z, aUntagged, "a quarantined port reaches the physical bridge untagged"},
		{z, a4095, "VLAN 4095 is carried out"},
		{z, a100, "a quarantined port reaches its network's VLAN"},
	}
	for _, c := range isolated {
		if c.from.Ping(t, c.to.IP) {
			t.Errorf("%s pings %s: %s", c.from, c.to, c.why)
		}
	}

	// The checks above mean something: with the physical end of x's pair
	// made a trunk of every VLAN by hand, x's frames enter br-a untagged
	// and reach the untagged wire, until the next Sync puts it back.
	_, physName := patchNames(px.NetworkID)
	hv.Vsctl("clear", "Port", physName, "tag", "--", "set", "Port", physName, "vlan_mode=trunk")
	if !x.WaitPing(t, aUntagged.IP, true, 20*time.Second) {
		t.Errorf("%s does not reach %s even with %s trunking every VLAN: the isolation checks prove nothing", x, aUntagged, physName)
	}
	syncUntil(t, d, "patch port healed", desired, func(map[string]agent.PortState) bool {
		return hv.Vsctl("get", "Port", physName, "tag") == "100"
	})
	if !x.WaitPing(t, aUntagged.IP, false, 20*time.Second) {
		t.Errorf("%s still reaches %s after Sync restored the patch port", x, aUntagged)
	}
}

// TestIntegrationUpgradeFromTrunkPairLoss migrates a running host from the
// earlier layout (one trunk pair per physical network) while a VM pings
// across it, and reports the pings lost.
func TestIntegrationUpgradeFromTrunkPairLoss(t *testing.T) {
	testbed.RequireRoot(t)
	hv := testbed.StartOVS(t, testbed.OVSOptions{})
	hv.Vsctl("add-br", "br-a", "--", "set", "Bridge", "br-a", "datapath_type=netdev")
	// The earlier agent's bridge and layout, made by hand as it made them.
	d0 := startIntegration(t, hv)
	_ = d0.Close()
	a100 := outsideVM(t, hv, "a100", "br-a", 100, "198.18.21.11/24")
	x := testbed.AddVM(t, hv, "x", "tapx", "198.18.21.1/24")
	px := hvPort("x", x, 100)
	marker := func(table, name string, ids map[string]string) []string {
		out := []string{"--", "set", table, name}
		for k, v := range ids {
			out = append(out, fmt.Sprintf("external_ids:%s=%q", k, v))
		}
		return out
	}
	args := []string{"add-port", "br-int", "tapx", "tag=100"}
	args = append(args, marker("Port", "tapx", map[string]string{ownerKey: "hv-it", portIDKey: px.PortID, networkKey: px.NetworkID})...)
	args = append(args, marker("Interface", "tapx", map[string]string{ownerKey: "hv-it", ifaceIDKey: px.AttachmentID,
		macKey: px.MAC, vmKey: px.VMID, ifaceStatKey: "active"})...)
	hv.Vsctl(args...)
	hv.Vsctl("set", "Port", "tapx", "vlan_mode=access")
	legacy := map[string]string{ownerKey: "hv-it", physnetKey: "physnet1"}
	args = []string{"add-port", "br-int", "int-br-a", "vlan_mode=trunk", "trunks=100", "--", "set", "Interface", "int-br-a",
		"type=patch", "options:peer=phy-br-a"}
	args = append(args, marker("Port", "int-br-a", legacy)...)
	args = append(args, "--", "add-port", "br-a", "phy-br-a", "--", "set", "Interface", "phy-br-a", "type=patch", "options:peer=int-br-a")
	args = append(args, marker("Port", "phy-br-a", legacy)...)
	hv.Vsctl(args...)
	if !x.WaitPing(t, a100.IP, true, 20*time.Second) {
		t.Fatalf("%s cannot reach %s through the legacy trunk pair", x, a100)
	}

	// 2000 pings 5 ms apart (10 s) across the upgrade.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ping := exec.CommandContext(ctx, "ip", "netns", "exec", x.NetNS, "ping", "-q", "-c", "2000", "-i", "0.005", "-W", "1", a100.IP.String())
	out := make(chan string, 1)
	go func() {
		b, _ := ping.CombinedOutput()
		out <- string(b)
	}()
	time.Sleep(2 * time.Second)
	d := startConfigured(t, Config{OVSDB: hv.DBSocket, DatapathType: DatapathNetdev, Host: "hv-it",
		BridgeMappings: map[string]string{"physnet1": "br-a"}})
	tx := d.transactions.Load()
	syncUntil(t, d, "migrated", []agent.WiredPort{px}, allUp(px))
	if n := d.transactions.Load() - tx; n != 1 {
		t.Errorf("the migration took %d transactions, want 1", n)
	}
	if _, err := hv.VsctlErr("get", "Port", "int-br-a", "name"); err == nil {
		t.Error("legacy trunk pair still there after the migration")
	}
	res := <-out
	m := regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`).FindStringSubmatch(res)
	if m == nil {
		t.Fatalf("ping output: %s", res)
	}
	sent, got := atoi(m[1]), atoi(m[2])
	t.Logf("upgrade from the trunk pair under a 5 ms ping: %d of %d lost", sent-got, sent)
	if got == 0 {
		t.Error("no ping answered across the upgrade")
	}
	if !x.WaitPing(t, a100.IP, true, 20*time.Second) {
		t.Errorf("%s cannot reach %s after the migration", x, a100)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
