package linuxbridge

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/quantum-agent/quantum-agent/agent"
)

func TestNames(t *testing.T) {
	cases := []struct{ got, want string }{
		{BridgeName("3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"), "brq3f2a1b4c-5d"},
		{BridgeName("short"), "brqshort"},
		{VXLANName(101), "vxlan-101"},
		{VXLANName(16777215), "vxlan-16777215"},
		{VLANName("eth1", 101), "eth1.101"},
		{VLANName("enp129s0f1np1", 4094), "enp129s0f1.4094"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
		if len(c.got) > maxLinkName {
			t.Errorf("%q is longer than %d", c.got, maxLinkName)
		}
	}
}

func testConfig() *Config {
	return &Config{
		Host: "h1", MTU: DefaultMTU, VXLANMTU: DefaultVXLANMTU, VXLANPort: DefaultVXLANPort,
		InterfaceMappings: map[string]string{"physnet1": "eth1"},
		VXLANLocalIP:      netip.MustParseAddr("198.19.0.1"),
	}
}

const (
	netA = "aaaaaaaa-0000-4000-8000-000000000001"
	netB = "bbbbbbbb-0000-4000-8000-000000000002"
)

func port(att, netID, dev string, seg agent.Segment) agent.WiredPort {
	return agent.WiredPort{AttachmentID: att, PortID: "p-" + att, NetworkID: netID, Device: dev, Segment: seg, AdminUp: true}
}

var (
	local = agent.Segment{Type: agent.NetworkTypeLocal}
	vx7   = agent.Segment{Type: agent.NetworkTypeVXLAN, SegmentationID: 7}
)

func TestUplinkFor(t *testing.T) {
	c := testConfig()
	cases := []struct {
		seg      agent.Segment
		kind     uplinkKind
		name     string
		mtu      int
		errorHas string
	}{
		{local, uplinkNone, "", 1500, ""},
		{vx7, uplinkVXLAN, "vxlan-7", 1450, ""},
		{agent.Segment{Type: agent.NetworkTypeVLAN, PhysicalNetwork: "physnet1", SegmentationID: 101}, uplinkVLAN, "eth1.101", 1500, ""},
		{agent.Segment{Type: agent.NetworkTypeFlat, PhysicalNetwork: "physnet1"}, uplinkFlat, "eth1", 1500, ""},
		{agent.Segment{Type: agent.NetworkTypeFlat, PhysicalNetwork: "physnet9"}, 0, "", 0, "--interface-mappings"},
		{agent.Segment{Type: agent.NetworkTypeVLAN, PhysicalNetwork: "physnet1", SegmentationID: 5000}, 0, "", 0, "out of range"},
		{agent.Segment{Type: "gre"}, 0, "", 0, "not carried"},
	}
	for _, tc := range cases {
		up, mtu, err := c.uplinkFor(tc.seg)
		if tc.errorHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errorHas) {
				t.Errorf("%+v: err %v, want one saying %q", tc.seg, err, tc.errorHas)
			}
			continue
		}
		if err != nil || up.kind != tc.kind || up.name != tc.name || mtu != tc.mtu {
			t.Errorf("%+v: %+v mtu %d err %v; want kind %d name %q mtu %d", tc.seg, up, mtu, err, tc.kind, tc.name, tc.mtu)
		}
	}
	noVTEP := testConfig()
	noVTEP.VXLANLocalIP = netip.Addr{}
	if _, _, err := noVTEP.uplinkFor(vx7); err == nil || !strings.Contains(err.Error(), "--vxlan-local-ip") {
		t.Errorf("vxlan without a local IP: %v", err)
	}
}

func TestGroup(t *testing.T) {
	c := testConfig()
	p1 := port("a1", netA, "tap1", vx7)
	p1.Peers = []string{"198.19.0.3", "198.19.0.2", "198.19.0.1", "bogus"}
	p2 := port("a2", netA, "tap2", vx7)
	p2.Peers = []string{"198.19.0.2"}
	collide := netA[:11] + "-other"
	g := c.group([]agent.WiredPort{
		p1, p2,
		port("a3", netB, "tap3", local),
		port("dup", netB, "tap1", local),               // device taken
		port("long", netB, "tap-name-too-long", local), // not a link name
		port("clash", collide, "tap4", local),          // same bridge name, other network
		port("loop", netB, BridgeName(netA), local),    // a bridge as a tap
		port("vxl", netB, "vxlan-7", local),            // an uplink as a tap
		port("unmapped", netB, "tap5", agent.Segment{Type: agent.NetworkTypeFlat, PhysicalNetwork: "x"}),
	})
	if len(g.nets) != 2 || g.nets[0].bridge != BridgeName(netA) || g.nets[1].bridge != BridgeName(netB) {
		t.Fatalf("networks %+v", g.nets)
	}
	a := g.nets[0]
	if len(a.ports) != 2 || a.mtu != 1450 || a.up.name != "vxlan-7" {
		t.Errorf("network A: %+v", a)
	}
	wantPeers := []netip.Addr{netip.MustParseAddr("198.19.0.2"), netip.MustParseAddr("198.19.0.3")}
	if len(a.peers) != 2 || a.peers[0] != wantPeers[0] || a.peers[1] != wantPeers[1] {
		t.Errorf("peers %v, want %v (own VTEP and junk left out, deduplicated, sorted)", a.peers, wantPeers)
	}
	if b := g.nets[1]; len(b.ports) != 1 || b.ports[0].Device != "tap3" {
		t.Errorf("network B ports %+v, want only tap3", b.ports)
	}
	for att, has := range map[string]string{
		"dup": "also wanted by attachment a1", "long": "not a link name", "clash": "already taken by network",
		"loop": "cannot be plugged", "vxl": "cannot be plugged", "unmapped": "--interface-mappings",
	} {
		if !strings.Contains(g.failed[att], has) {
			t.Errorf("attachment %s: failed %q, want it to say %q", att, g.failed[att], has)
		}
	}
	if len(g.failed) != 6 {
		t.Errorf("failed %v", g.failed)
	}
}

func TestOwnerAlias(t *testing.T) {
	if got := ownerAlias("hv1", ""); got != "quantum-agent:hv1" {
		t.Errorf("ownerAlias without a DB id = %q", got)
	}
	if got := ownerAlias("hv1", "db-a"); got != "quantum-agent:hv1:db-a" {
		t.Errorf("ownerAlias with a DB id = %q", got)
	}
	for _, c := range []struct {
		alias string
		owned bool
		db    string
	}{
		{"quantum-agent:hv1", true, ""}, // older agents: unknown DB
		{"quantum-agent:hv1:db-a", true, "db-a"},
		{"quantum-agent:hv10", false, ""},
		{"quantum-agent:hv10:db-a", false, ""},
		{"quantum-agent:hv1:", false, ""},
		{"quantum-agent:hv1:a:b", false, ""},
		{"quantum-agent:other", false, ""},
		{"", false, ""},
		{"hv1", false, ""},
	} {
		owned, db := parseOwner(c.alias, "hv1")
		if owned != c.owned || db != c.db {
			t.Errorf("parseOwner(%q, hv1) = %v, %q; want %v, %q", c.alias, owned, db, c.owned, c.db)
		}
	}
}
