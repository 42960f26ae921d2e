package ovs

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
)

// vtepHost is a netdev hypervisor on a fabric with its VTEP on br-phys and
// a datapath driving it.
type vtepHost struct {
	hv   *testbed.OVS
	d    *Datapath
	vtep string
}

func startVTEPHosts(t *testing.T, n int) []*vtepHost {
	t.Helper()
	fab := testbed.StartFabric(t)
	var out []*vtepHost
	for i := range n {
		h := &vtepHost{hv: testbed.StartOVS(t, testbed.OVSOptions{}), vtep: fmt.Sprintf("198.19.1.%d", i+1)}
		fab.Attach(t, h.hv, "br-phys")
		h.hv.SetVTEP(t, "br-phys", h.vtep+"/24")
		h.d = startConfigured(t, Config{OVSDB: h.hv.DBSocket, DatapathType: DatapathNetdev, Host: fmt.Sprintf("hv%d", i+1),
			VXLANLocalIP: netip.MustParseAddr(h.vtep)})
		out = append(out, h)
	}
	var hvs []*testbed.OVS
	var vteps []string
	for _, h := range out {
		hvs, vteps = append(hvs, h.hv), append(vteps, h.vtep)
	}
	testbed.WaitVTEPs(t, hvs, vteps)
	return out
}

// vxlanVM adds a VM for a vxlan network: MTU 1450, TX checksum offload off.
func vxlanVM(t *testing.T, h *vtepHost, name, ip string) *testbed.VM {
	t.Helper()
	vm := testbed.AddVM(t, h.hv, name, "tap"+name, ip)
	vm.SetMTU(t, 1450)
	vm.DisableTXChecksum(t)
	return vm
}

func vxlanPort(id string, vm *testbed.VM, vni int, peers ...string) agent.WiredPort {
	return agent.WiredPort{
		AttachmentID: "att-" + id, PortID: "port-" + id, NetworkID: fmt.Sprintf("vx-%d", vni),
		Device: vm.Tap, MAC: vm.MAC, VMID: "vm-" + id, AdminUp: true, Peers: peers,
		Segment: agent.Segment{Type: agent.NetworkTypeVXLAN, SegmentationID: vni},
	}
}

// TestIntegrationVXLANTwoVNIs: two hosts, two VNIs with the same /24 inside;
// VMs reach their own network across hosts (ping and TCP), not the other.
func TestIntegrationVXLANTwoVNIs(t *testing.T) {
	testbed.RequireRoot(t)
	hs := startVTEPHosts(t, 2)
	x1, y1 := vxlanVM(t, hs[0], "x1", "198.18.30.1/24"), vxlanVM(t, hs[0], "y1", "198.18.30.11/24")
	x2, y2 := vxlanVM(t, hs[1], "x2", "198.18.30.2/24"), vxlanVM(t, hs[1], "y2", "198.18.30.12/24")
	want1 := []agent.WiredPort{vxlanPort("x1", x1, 5000, hs[1].vtep), vxlanPort("y1", y1, 5001, hs[1].vtep)}
	want2 := []agent.WiredPort{vxlanPort("x2", x2, 5000, hs[0].vtep), vxlanPort("y2", y2, 5001, hs[0].vtep)}
	syncUntil(t, hs[0].d, "hv1 up", want1, allUp(want1...))
	syncUntil(t, hs[1].d, "hv2 up", want2, allUp(want2...))
	if !x1.WaitPing(t, x2.IP, true, 30*time.Second) {
		for _, h := range hs {
			dumpTunnelState(t, h)
		}
		t.Fatalf("%s cannot ping %s over VNI 5000", x1, x2)
	}
	if !y1.WaitPing(t, y2.IP, true, 30*time.Second) {
		t.Fatalf("%s cannot ping %s over VNI 5001", y1, y2)
	}
	for _, c := range [][2]*testbed.VM{{x1, y2}, {y1, x2}, {x1, y1}} {
		if c[0].Ping(t, c[1].IP) {
			t.Errorf("%s pings %s on the other VNI", c[0], c[1])
		}
	}
	if !x1.CanTCP(t, x2) {
		t.Errorf("TCP %s -> %s over VXLAN does not carry data", x1, x2)
	}
	if got := hs[0].hv.Vsctl("get", "Interface", "v001388c6130102", "status:tunnel_egress_iface"); !strings.Contains(got, "br-phys") {
		t.Errorf("tunnel_egress_iface of hv1's tunnel to hv2 = %s, want br-phys", got)
	}
}

// dumpTunnelState logs what ovs-vswitchd knows of routes, neighbours and
// flows, to explain a tunnel that carries nothing.
func dumpTunnelState(t *testing.T, h *vtepHost) {
	t.Helper()
	ctl := h.hv.Dir + "/vswitchd.ctl"
	for _, cmd := range [][]string{{"ovs/route/show"}, {"tnl/neigh/show"}, {"dpctl/dump-flows"}} {
		out, err := testbed.RunErr(nil, "ovs-appctl", append([]string{"-t", ctl}, cmd...)...)
		t.Logf("%s %s: %v\n%s", h.vtep, cmd[0], err, out)
	}
	t.Logf("%s ports:\n%s", h.vtep, h.hv.Vsctl("--columns=name,type,options,status", "list", "Interface"))
}
