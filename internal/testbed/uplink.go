package testbed

import "testing"

// Uplink is the "cable" between two hypervisors: a veth pair whose ends sit
// in each hypervisor's namespace and are ports of a bridge there (each
// host's physical bridge, the one --bridge-mappings names).
type Uplink struct {
	A, B string // device names in a's and b's namespace
}

// ConnectUplink joins bridge brA of hypervisor a and bridge brB of
// hypervisor b with a veth pair, both ends up, without IPv6 and added to
// their bridge as plain (trunk) ports, so VLAN-tagged frames cross as they
// are. The bridges must exist. t.Cleanup removes the ports and the pair.
func ConnectUplink(t testing.TB, a *OVS, brA string, b *OVS, brB string) *Uplink {
	t.Helper()
	u := &Uplink{A: UniqueName("qa-up"), B: UniqueName("qa-up")}
	Run(t, nil, "ip", "link", "add", u.A, "netns", a.NetNS, "type", "veth", "peer", "name", u.B, "netns", b.NetNS)
	t.Cleanup(func() {
		// Either end takes the pair with it; a gone namespace already did.
		if _, err := RunErr(nil, "ip", "-n", a.NetNS, "link", "del", u.A); err != nil {
			t.Logf("testbed: delete uplink %s: %v", u.A, err)
		}
	})
	for _, end := range []struct {
		hv      *OVS
		dev, br string
	}{{a, u.A, brA}, {b, u.B, brB}} {
		Run(t, nil, "ip", "netns", "exec", end.hv.NetNS, "sysctl", "-q", "-w", "net.ipv6.conf."+end.dev+".disable_ipv6=1")
		Run(t, nil, "ip", "-n", end.hv.NetNS, "link", "set", end.dev, "up")
		end.hv.Vsctl("add-port", end.br, end.dev)
		hv, br, dev := end.hv, end.br, end.dev
		t.Cleanup(func() { _, _ = hv.VsctlErr("--if-exists", "del-port", br, dev) })
	}
	return u
}
