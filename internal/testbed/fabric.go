package testbed

import (
	"net/netip"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// Fabric is the physical network between OVS hypervisors: a namespace of its
// own holding a Linux bridge, every attached hypervisor's uplink a port of
// it. Without vlan_filtering the bridge passes 802.1Q-tagged frames as they
// are, so one fabric is a VLAN trunk, a flat wire and a VXLAN underlay at
// once.
type Fabric struct {
	NetNS  string
	bridge string
	t      testing.TB
}

// StartFabric makes a fabric; t.Cleanup deletes its namespace, which takes
// the bridge and the fabric ends of every uplink with it.
func StartFabric(t testing.TB) *Fabric {
	t.Helper()
	f := &Fabric{NetNS: UniqueName("qa-fab-"), bridge: "fab0", t: t}
	AddNetNS(t, f.NetNS)
	Run(t, nil, "ip", "-n", f.NetNS, "link", "add", f.bridge, "type", "bridge")
	Run(t, nil, "ip", "-n", f.NetNS, "link", "set", f.bridge, "up")
	return f
}

// Attach makes br a netdev bridge of hv (unless it exists) and plugs into it
// a veth whose other end is a port of the fabric: br is then the physical
// bridge a --bridge-mappings entry names.
func (f *Fabric) Attach(t testing.TB, hv *OVS, br string) {
	t.Helper()
	hv.Vsctl("--may-exist", "add-br", br, "--", "set", "Bridge", br, "datapath_type=netdev")
	hvEnd, fabEnd := UniqueName("qa-ul"), UniqueName("qa-fb")
	Run(t, nil, "ip", "link", "add", hvEnd, "netns", hv.NetNS, "type", "veth", "peer", "name", fabEnd, "netns", f.NetNS)
	Run(t, nil, "ip", "netns", "exec", hv.NetNS, "sysctl", "-q", "-w", "net.ipv6.conf."+hvEnd+".disable_ipv6=1")
	Run(t, nil, "ip", "-n", hv.NetNS, "link", "set", hvEnd, "up")
	Run(t, nil, "ip", "-n", f.NetNS, "link", "set", fabEnd, "master", f.bridge, "up")
	hv.Vsctl("add-port", br, hvEnd)
	t.Cleanup(func() { _, _ = hv.VsctlErr("--if-exists", "del-port", br, hvEnd) })
}

// SetDown stops the fabric switching (every cable pulled at once), or
// starts it again.
func (f *Fabric) SetDown(t testing.TB, down bool) {
	t.Helper()
	state := "up"
	if down {
		state = "down"
	}
	Run(t, nil, "ip", "-n", f.NetNS, "link", "set", f.bridge, state)
}

// SetVTEP gives hv's netdev bridge br (on a fabric) the tunnel endpoint
// address cidr on its internal port, where ovs-vswitchd's userspace
// tunnelling finds the route and neighbours of its peers.
func (hv *OVS) SetVTEP(t testing.TB, br, cidr string) {
	t.Helper()
	checkTestAddr(t, netip.MustParsePrefix(cidr).Addr())
	Run(t, nil, "ip", "netns", "exec", hv.NetNS, "sysctl", "-q", "-w", "net.ipv6.conf."+br+".disable_ipv6=1")
	Run(t, nil, "ip", "-n", hv.NetNS, "addr", "add", cidr, "dev", br)
	Run(t, nil, "ip", "-n", hv.NetNS, "link", "set", br, "up")
}

// WaitVTEPs returns once every hypervisor's kernel reaches every other's
// VTEP (vteps[i] is hosts[i]'s) across the fabric, i.e. the fabric forwards;
// it fails the test after 30 s. (It does not fill ovs-vswitchd's tunnel
// neighbour cache: checked, tnl/neigh/show stays empty.) It matters because
// OVS resolves a peer's MAC with one ARP request when a tunnel first sends,
// and caches the drop of whatever triggered it while unresolved: if that
// ARP is lost (the fabric still coming up), a steady ping keeps the drop
// flow alive and the tunnel never starts (seen in about one run in three).
// Production underlays are up before the first VM; test beds must make sure
// of it.
func WaitVTEPs(t testing.TB, hosts []*OVS, vteps []string) {
	t.Helper()
	for i, h := range hosts {
		for j, ip := range vteps {
			if i == j {
				continue
			}
			checkTestAddr(t, netip.MustParseAddr(ip))
			ok := testutil.Poll(30*time.Second, 200*time.Millisecond, func() bool {
				_, err := RunErr(nil, "ip", "netns", "exec", h.NetNS, "ping", "-q", "-c", "1", "-W", "1", ip)
				return err == nil
			})
			if !ok {
				t.Fatalf("testbed: hypervisor %s cannot reach VTEP %s across the fabric", h.NetNS, ip)
			}
		}
	}
}
