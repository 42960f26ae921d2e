package e2e

// Every network type on the OVS datapath across netdev hypervisors joined by
// fabrics (issue 12): vxlan, flat, vlan (the same id on two physical
// networks) and local, through the built agent and its API.

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// typesHost is one netdev hypervisor with its agent: br-phys (physnet1, on
// the first fabric, holding the VTEP) and br-phys2 (physnet2, on the second).
type typesHost struct {
	name  string
	hv    *testbed.OVS
	vtep  string
	agent *agentProc
	c     *client.Client
	args  []string
}

// typesCluster is n such hosts sharing one Quantum DB.
type typesCluster struct {
	hosts []*typesHost
	fab1  *testbed.Fabric
}

func newTypesCluster(t *testing.T, n int) *typesCluster {
	t.Helper()
	testbed.RequireRoot(t)
	dir := testutil.ShortDir(t)
	qdb := testbed.StartQuantumDB(t)
	tc := &typesCluster{fab1: testbed.StartFabric(t)}
	fab2 := testbed.StartFabric(t)
	for i := range n {
		h := &typesHost{name: fmt.Sprintf("ty-hv%d", i+1), hv: testbed.StartOVS(t, testbed.OVSOptions{}), vtep: fmt.Sprintf("198.19.3.%d", i+1)}
		tc.fab1.Attach(t, h.hv, "br-phys")
		fab2.Attach(t, h.hv, "br-phys2")
		h.hv.SetVTEP(t, "br-phys", h.vtep+"/24")
		socket := filepath.Join(dir, h.name+".sock")
		h.args = []string{"netns", "exec", h.hv.NetNS, filepath.Join(bins, "quantum-agent"),
			"--socket", socket, "--quantum-db", qdb, "--ovs-db", h.hv.DBSocket, "--ovs-datapath-type", "netdev",
			"--network-vlan-ranges", "physnet1:100:199,physnet2:100:199", "--bridge-mappings", "physnet1:br-phys,physnet2:br-phys2",
			"--vxlan-local-ip", h.vtep, "--host", h.name, "--metrics-listen", "", "--log-level", "debug"}
		h.c = client.New(socket)
		h.start(t)
		tc.hosts = append(tc.hosts, h)
	}
	var hvs []*testbed.OVS
	var vteps []string
	for _, h := range tc.hosts {
		hvs, vteps = append(hvs, h.hv), append(vteps, h.vtep)
	}
	testbed.WaitVTEPs(t, hvs, vteps)
	return tc
}

func (h *typesHost) start(t *testing.T) {
	t.Helper()
	h.agent = startAgent(t, h.name, exec.Command("ip", h.args...), "")
	h.agent.waitAnswering(t, h.c, 30*time.Second)
}

// typesVM is a VM plugged into a network through its host's agent.
type typesVM struct {
	*testbed.VM
	h       *typesHost
	net     string // network id
	netName string
	port    string
}

// addVM makes a VM on h (MTU 1450 and TX checksum offload off, as VMs on
// VXLAN need on this OVS: see DisableTXChecksum) and plugs it into net.
func (h *typesHost) addVM(t *testing.T, name, ip, net, netName string) *typesVM {
	t.Helper()
	vm := &typesVM{VM: testbed.AddVM(t, h.hv, name, "tap"+name, ip), h: h, net: net, netName: netName}
	vm.SetMTU(t, 1450)
	vm.DisableTXChecksum(t)
	ctx := ctxT(t)
	vm.port = mustID(t)(h.c.CreatePort(ctx, "demo", net, "ACTIVE"))
	if err := h.c.Plug(ctx, "demo", net, vm.port, client.PlugRequest{ID: "vif-" + name, Device: vm.Tap, MAC: vm.MAC}); err != nil {
		t.Fatalf("plug %s: %v", vm, err)
	}
	return vm
}

func (vm *typesVM) waitUp(t *testing.T) {
	t.Helper()
	att, err := vm.h.c.WaitAttachment(ctxT(t), "demo", vm.net, vm.port, "UP", 40*time.Second)
	if err != nil || att == nil || att.Status != "UP" {
		t.Fatalf("%s on %s never came UP: %+v, %v", vm, vm.netName, att, err)
	}
}

func (tc *typesCluster) network(t *testing.T, req client.NetworkRequest) string {
	t.Helper()
	return mustID(t)(tc.hosts[0].c.CreateNetwork(ctxT(t), "demo", req))
}

// pingMatrix pings every ordered pair of vms at once (a few at a time) and
// returns the pairs whose answer was not want(from, to).
func pingMatrix(t *testing.T, vms []*typesVM, want func(a, b *typesVM) bool) []string {
	t.Helper()
	var (
		mu   sync.Mutex
		bad  []string
		wg   sync.WaitGroup
		slot = make(chan struct{}, 6)
	)
	for _, a := range vms {
		for _, b := range vms {
			if a == b {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				slot <- struct{}{}
				defer func() { <-slot }()
				w := want(a, b)
				if got := a.WaitPing(t, b.IP, w, 10*time.Second); !got {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%s (%s) -> %s (%s): want reachable=%v", a.Name, a.netName, b.Name, b.netName, w))
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	return bad
}

// TestOVSNetworkTypesAcrossHosts: two hosts, one VM on each per network:
// vxlan (two VNIs), flat, vlan 120 on physnet1 and vlan 120 on physnet2, and
// a local network (whose VMs on two hosts must not meet). Every VM sits in
// one /24, so only the datapath keeps networks apart.
func TestOVSNetworkTypesAcrossHosts(t *testing.T) {
	tc := newTypesCluster(t, 2)
	nets := []struct {
		name string
		req  client.NetworkRequest
	}{
		{"vx1", client.NetworkRequest{Name: "vx1", NetworkType: "vxlan", SegmentationID: 5100}},
		{"vx2", client.NetworkRequest{Name: "vx2", NetworkType: "vxlan", SegmentationID: 5101}},
		{"flat", client.NetworkRequest{Name: "flat", NetworkType: "flat", PhysicalNetwork: "physnet1"}},
		{"vlan1", client.NetworkRequest{Name: "vlan1", NetworkType: "vlan", PhysicalNetwork: "physnet1", SegmentationID: 120}},
		{"vlan2", client.NetworkRequest{Name: "vlan2", NetworkType: "vlan", PhysicalNetwork: "physnet2", SegmentationID: 120}},
		{"local", client.NetworkRequest{Name: "local", NetworkType: "local"}},
	}
	var vms []*typesVM
	for i, n := range nets {
		id := tc.network(t, n.req)
		for j, h := range tc.hosts {
			vms = append(vms, h.addVM(t, fmt.Sprintf("%s%d", n.name, j+1), fmt.Sprintf("198.18.40.%d/24", 10*(i+1)+j+1), id, n.name))
		}
	}
	for _, vm := range vms {
		vm.waitUp(t)
	}
	// Same network, other host: reachable; except a local network, which
	// is the host's alone.
	reach := func(a, b *typesVM) bool { return a.net == b.net && a.netName != "local" }
	if bad := pingMatrix(t, vms, reach); len(bad) > 0 {
		t.Errorf("isolation matrix across all types (%d VMs):\n%s", len(vms), strings.Join(bad, "\n"))
	}
	for i := 0; i < len(vms); i += 2 {
		a, b := vms[i], vms[i+1]
		if a.netName == "local" {
			continue
		}
		if !a.CanTCP(t, b.VM) {
			t.Errorf("4 MiB of TCP %s -> %s on %s do not arrive", a, b, a.netName)
		}
	}
	// Two VMs of the local network on one host do meet.
	l3 := tc.hosts[0].addVM(t, "local3", "198.18.40.69/24", vms[len(vms)-1].net, "local")
	l3.waitUp(t)
	if !l3.WaitPing(t, vms[len(vms)-2].IP, true, pingWait) {
		t.Errorf("%s cannot reach %s on their host's local network", l3, vms[len(vms)-2])
	}

	// A broadcast from physnet1's wire tagged 120 is switched into exactly
	// one network on hv1: vlan1's (the patch pair translating 120).
	h := tc.hosts[0]
	trace, outputs := traceFromWire(t, h, "br-phys", 120)
	for _, vm := range vms {
		if vm.h != h {
			continue
		}
		if reached, want := outputs[vm.Tap], vm.netName == "vlan1"; reached != want {
			t.Errorf("a tagged-120 broadcast from physnet1's wire reaches %s (%s): %v, want %v", vm.Tap, vm.netName, reached, want)
		}
	}
	if t.Failed() {
		t.Logf("ofproto/trace:\n%s", trace)
	}
}

// traceFromWire runs ofproto/trace of a broadcast tagged vlan entering br
// from its uplink (the fabric port), and returns the trace and the devices
// its datapath actions output to (mapped from datapath port numbers with
// dpif/show).
func traceFromWire(t *testing.T, h *typesHost, br string, vlan int) (string, map[string]bool) {
	t.Helper()
	var uplink string
	for _, p := range strings.Fields(h.hv.Vsctl("list-ports", br)) {
		if strings.HasPrefix(p, "qa-ul") {
			uplink = p
		}
	}
	if uplink == "" {
		t.Fatalf("no uplink on %s of %s", br, h.name)
	}
	ctl := filepath.Join(h.hv.Dir, "vswitchd.ctl")
	flow := fmt.Sprintf("in_port=%s,dl_vlan=%d,dl_src=02:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,dl_type=0x0806", uplink, vlan)
	trace := testbed.Run(t, nil, "ovs-appctl", "-t", ctl, "ofproto/trace", br, flow)
	byODP := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(\S+) (?:\d+|none)/(\d+):`).FindAllStringSubmatch(testbed.Run(t, nil, "ovs-appctl", "-t", ctl, "dpif/show"), -1) {
		byODP[m[2]] = m[1]
	}
	out := map[string]bool{}
	m := regexp.MustCompile(`(?m)^Datapath actions: (.*)$`).FindStringSubmatch(trace)
	if m == nil {
		t.Fatalf("no datapath actions in the trace:\n%s", trace)
	}
	for _, tok := range strings.Split(m[1], ",") {
		if name, ok := byODP[strings.TrimSpace(tok)]; ok {
			out[name] = true
		}
	}
	return trace, out
}

// fabricFrames sums the frames the fabric's switch ports received.
func fabricFrames(t *testing.T, fab *testbed.Fabric) int {
	t.Helper()
	out := testbed.Run(t, nil, "ip", "-n", fab.NetNS, "-s", "-j", "link", "show")
	var links []struct {
		Name  string `json:"ifname"`
		Stats struct {
			RX struct {
				Packets int `json:"packets"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		t.Fatalf("ip -s -j link: %v", err)
	}
	n := 0
	for _, l := range links {
		if strings.HasPrefix(l.Name, "qa-fb") {
			n += l.Stats.RX.Packets
		}
	}
	return n
}

// TestOVSVXLANThreeHosts: three hosts in a full mesh on one vxlan network:
// traffic flows between every pair, a broadcast does not storm (tunnel ports
// are protected), a peer leaving the network takes its tunnels away, and an
// agent restart loses no ping.
func TestOVSVXLANThreeHosts(t *testing.T) {
	tc := newTypesCluster(t, 3)
	net := tc.network(t, client.NetworkRequest{Name: "vx", NetworkType: "vxlan", SegmentationID: 5200})
	var vms []*typesVM
	for i, h := range tc.hosts {
		vms = append(vms, h.addVM(t, fmt.Sprintf("m%d", i+1), fmt.Sprintf("198.18.41.%d/24", i+1), net, "vx"))
	}
	for _, vm := range vms {
		vm.waitUp(t)
	}
	if bad := pingMatrix(t, vms, func(a, b *typesVM) bool { return true }); len(bad) > 0 {
		t.Fatalf("full mesh:\n%s", strings.Join(bad, "\n"))
	}
	tunnels := func(h *typesHost) []string {
		var out []string
		for _, p := range strings.Fields(h.hv.Vsctl("list-ports", "br-int")) {
			if strings.HasPrefix(p, "v0014") { // VNI 5200 = 0x1450
				out = append(out, p)
			}
		}
		return out
	}
	for _, h := range tc.hosts {
		if got := tunnels(h); len(got) != 2 {
			t.Errorf("%s has tunnel ports %v, want one per peer (2)", h.name, got)
		}
	}

	// One ARP for an address nobody has, broadcast to both peers by each
	// host: a storm would be hundreds of thousands of frames on the fabric.
	time.Sleep(time.Second)
	before := fabricFrames(t, tc.fab1)
	_, _ = testbed.RunErr(nil, "ip", "netns", "exec", vms[0].NetNS, "ping", "-c", "1", "-W", "1", "198.18.41.99")
	time.Sleep(2 * time.Second)
	frames := fabricFrames(t, tc.fab1) - before
	t.Logf("frames on the fabric after one unanswered ping (ARP broadcast): %d", frames)
	if frames > 200 {
		t.Errorf("%d frames on the fabric after one broadcast: tunnels flood one another", frames)
	}

	// An agent restart (clean, then SIGKILL) loses no ping. Not a subtest:
	// the restarted agent must outlive it.
	{
		running, wait := continuousPing(t, vms[0].VM, vms[1].IP.String(), 300)
		time.Sleep(500 * time.Millisecond)
		h := tc.hosts[0]
		if err := h.agent.term(t); err != nil {
			t.Fatalf("SIGTERM: %v", err)
		}
		h.start(t)
		vms[0].waitUp(t)
		h.agent.Kill()
		h.start(t)
		vms[0].waitUp(t)
		if !running() {
			t.Fatal("the ping ended before the restarts did: the test proves nothing; raise its count")
		}
		if lost, out := wait(); lost != 0 {
			t.Errorf("lost %d pings on vxlan across two agent restarts:\n%s", lost, out)
		}
	}

	// A peer leaving the network takes its tunnels away on every host.
	{
		leaving := vms[2]
		if err := leaving.h.c.Unplug(ctxT(t), "demo", net, leaving.port); err != nil {
			t.Fatal(err)
		}
		for _, h := range tc.hosts[:2] {
			ok := testutil.Poll(30*time.Second, testutil.PollInterval, func() bool { return len(tunnels(h)) == 1 })
			if !ok {
				t.Errorf("%s still has tunnel ports %v after %s left the network", h.name, tunnels(h), leaving.h.name)
			}
		}
		testutil.Eventually(t, "leaving host's tunnels gone", 30*time.Second, func() bool { return len(tunnels(leaving.h)) == 0 })
		if !vms[0].WaitPing(t, vms[1].IP, true, pingWait) {
			t.Errorf("%s cannot reach %s after a third host left", vms[0], vms[1])
		}
	}
}
