package ovs

import (
	"strconv"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
)

// TestIntegrationPhysnetTrunks checks on a real ovs-vswitchd what the patch
// ports let through. "Outside" VMs hang off the physical bridges as access
// ports, the way a physical switch would present a VLAN to a host.
func TestIntegrationPhysnetTrunks(t *testing.T) {
	testbed.RequireRoot(t)
	hv := testbed.StartOVS(t, testbed.OVSOptions{})
	for _, br := range []string{"br-a", "br-b"} {
		hv.Vsctl("add-br", br, "--", "set", "Bridge", br, "datapath_type=netdev")
	}
	d := startConfigured(t, Config{OVSDB: hv.DBSocket, DatapathType: DatapathNetdev, Host: "hv-it",
		BridgeMappings: map[string]string{"physnet1": "br-a", "physnet2": "br-b"}})

	outside := func(name, br string, tag int, ip string) *testbed.VM {
		vm := testbed.AddVM(t, hv, name, "o"+name, ip)
		args := []string{"add-port", br, vm.Tap}
		if tag > 0 {
			args = append(args, "tag="+strconv.Itoa(tag))
		}
		hv.Vsctl(args...)
		return vm
	}
	a100 := outside("a100", "br-a", 100, "198.18.20.11/24")
	a200 := outside("a200", "br-a", 200, "198.18.20.12/24")
	aUntagged := outside("auntag", "br-a", 0, "198.18.20.13/24")
	a4095 := outside("a4095", "br-a", agent.DeadVLAN, "198.18.20.15/24")
	b200 := outside("b200", "br-b", 200, "198.18.20.14/24")

	x := testbed.AddVM(t, hv, "x", "tapx", "198.18.20.1/24")
	y := testbed.AddVM(t, hv, "y", "tapy", "198.18.20.2/24")
	z := testbed.AddVM(t, hv, "z", "tapz", "198.18.20.3/24")
	px, py, pz := hvPort("x", x, 100), hvPort("y", y, 200), hvPort("z", z, 100)
	py.Segment.PhysicalNetwork = "physnet2"
	pz.AdminUp, pz.VLAN = false, agent.DeadVLAN // quarantined, on physnet1 VLAN 100
	pz.NetworkID = px.NetworkID
	desired := []agent.WiredPort{px, py, pz}
	syncUntil(t, d, "x and y up", desired, allUp(px, py))
	if err := d.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if got := hv.Vsctl("get", "Port", "int-br-a", "trunks"); got != "[100]" {
		t.Errorf("int-br-a trunks = %s, want [100]", got)
	}
	if got := hv.Vsctl("get", "Port", "int-br-b", "trunks"); got != "[200]" {
		t.Errorf("int-br-b trunks = %s, want [200]", got)
	}

	if !x.WaitPing(t, a100.IP, true, 20*time.Second) {
		t.Errorf("%s cannot reach VLAN 100 of physnet1 through br-a", x)
	}
	if !y.WaitPing(t, b200.IP, true, 20*time.Second) {
		t.Errorf("%s cannot reach VLAN 200 of physnet2 through br-b", y)
	}
	if !x.CanTCP(t, a100) {
		t.Errorf("TCP from %s through the patch ports does not carry data", x)
	}
	for _, c := range []struct {
		from, to *testbed.VM
		why      string
	}{
		{y, a200, "physnet2's VLAN 200 leaks onto physnet1's bridge"},
		{x, aUntagged, "untagged traffic crosses the patch port"},
		{z, aUntagged, "a quarantined port reaches the physical bridge untagged"},
		{z, a4095, "VLAN 4095 is trunked out"},
		{z, a100, "a quarantined port reaches its network's VLAN"},
	} {
		if c.from.Ping(t, c.to.IP) {
			t.Errorf("%s pings %s: %s", c.from, c.to, c.why)
		}
	}

	// The checks above mean something: with trunks cleared by hand (OVS
	// then trunks every VLAN) physnet2's VLAN does leak onto br-a, until
	// the next Sync puts the list back.
	hv.Vsctl("clear", "Port", "int-br-a", "trunks")
	if !y.WaitPing(t, a200.IP, true, 20*time.Second) {
		t.Errorf("%s does not reach %s even with int-br-a trunking every VLAN: the isolation checks prove nothing", y, a200)
	}
	syncUntil(t, d, "trunks healed", desired, func(map[string]agent.PortState) bool {
		return hv.Vsctl("get", "Port", "int-br-a", "trunks") == "[100]"
	})
	if !y.WaitPing(t, a200.IP, false, 20*time.Second) {
		t.Errorf("%s still reaches %s after Sync restored the trunks", y, a200)
	}
}
