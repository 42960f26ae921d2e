package e2e

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// clusterHost is one hypervisor of the two-host test: its OVS (with a
// physical bridge br-phys) and its agent.
type clusterHost struct {
	name   string
	hv     *testbed.OVS
	socket string
	c      *client.Client
}

// startClusterAgent runs host's agent against every member of the cluster,
// with physnet1 on br-phys, and waits until its socket answers.
func startClusterAgent(t *testing.T, h *clusterHost, endpoints string) *agentProc {
	t.Helper()
	args := []string{"netns", "exec", h.hv.NetNS, filepath.Join(bins, "quantum-agent"),
		"--socket", h.socket, "--quantum-db", endpoints, "--ovs-db", h.hv.DBSocket,
		"--ovs-datapath-type", "netdev", "--network-vlan-ranges", "physnet1:100:199",
		"--bridge-mappings", "physnet1:br-phys", "--host", h.name,
		"--request-timeout", "5s", "--metrics-listen", "", "--log-level", "debug"}
	p := startAgent(t, "agent "+h.name, exec.Command("ip", args...), h.socket)
	h.c = client.New(h.socket, client.WithTimeout(30*time.Second))
	p.waitAnswering(t, h.c, 60*time.Second)
	return p
}

// wiring is what the datapath shows of one OVS port: if traffic was touched,
// one of these changes.
type wiring struct{ ofport, tag, trunks string }

func wiringOf(h *clusterHost, devs ...string) map[string]wiring {
	out := map[string]wiring{}
	for _, dev := range devs {
		out[h.name+"/"+dev] = wiring{
			ofport: h.hv.Vsctl("get", "Interface", dev, "ofport"),
			tag:    h.hv.Vsctl("get", "Port", dev, "tag"),
			trunks: h.hv.Vsctl("get", "Port", dev, "trunks"),
		}
	}
	return out
}

// TestTwoHostsOnRaftCluster: two hypervisors, each with its own agent and
// physical bridge, joined by an uplink, share one clustered Quantum DB.
// Networks and their VLANs are global; each agent wires its own host's
// attachments; a VLAN network carries traffic between hosts and isolates
// from another; killing the cluster leader leaves the API answering and the
// datapath untouched.
func TestTwoHostsOnRaftCluster(t *testing.T) {
	testbed.RequireRoot(t)
	cluster := testbed.StartQuantumCluster(t, 3)
	dir := testutil.ShortDir(t)
	hosts := []*clusterHost{{name: "hv1"}, {name: "hv2"}}
	for _, h := range hosts {
		h.hv = testbed.StartOVS(t, testbed.OVSOptions{})
		h.hv.Vsctl("add-br", "br-phys", "--", "set", "Bridge", "br-phys", "datapath_type=netdev")
		h.socket = filepath.Join(dir, h.name+".sock")
	}
	h1, h2 := hosts[0], hosts[1]
	testbed.ConnectUplink(t, h1.hv, "br-phys", h2.hv, "br-phys")
	for _, h := range hosts {
		startClusterAgent(t, h, cluster.Endpoints())
	}
	vmA := testbed.AddVM(t, h1.hv, "vm-a", "tapa", "198.18.10.1/24")
	vmB := testbed.AddVM(t, h2.hv, "vm-b", "tapb", "198.18.10.2/24")
	vmC := testbed.AddVM(t, h2.hv, "vm-c", "tapc", "198.18.10.3/24")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	must := mustID(t)
	c1, c2 := h1.c, h2.c
	net1 := must(c1.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "net1"}))
	net2 := must(c1.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "net2"}))

	// Global: host 2 lists what host 1 created, with the same VLANs.
	listed, err := c2.ListNetworksDetail(ctx, "demo", nil)
	if err != nil {
		t.Fatal(err)
	}
	vlans := map[string]int{}
	for _, n := range listed {
		vlans[n.ID] = n.SegmentationID
	}
	if _, ok := vlans[net1]; !ok {
		t.Fatalf("host 2 lists %+v, without net1 created through host 1", listed)
	}
	if _, ok := vlans[net2]; !ok {
		t.Fatalf("host 2 lists %+v, without net2 created through host 1", listed)
	}
	if v1, v2 := vlans[net1], vlans[net2]; v1 == v2 || v1 < 100 || v1 > 199 || v2 < 100 || v2 > 199 {
		t.Fatalf("VLANs of net1 and net2: %d and %d, want distinct ones from physnet1:100:199", v1, v2)
	}
	t.Logf("net1 VLAN %d, net2 VLAN %d", vlans[net1], vlans[net2])

	plug := func(c *client.Client, netID string, vm *testbed.VM, host string) string {
		t.Helper()
		port := must(c.CreatePort(ctx, "demo", netID, "ACTIVE"))
		if err := c.Plug(ctx, "demo", netID, port, client.PlugRequest{ID: "vif-" + vm.Name, Device: vm.Tap, MAC: vm.MAC, Host: host}); err != nil {
			t.Fatalf("plug %s: %v", vm, err)
		}
		att, err := c.WaitAttachment(ctx, "demo", netID, port, "UP", 60*time.Second)
		if err != nil || att == nil || att.Status != "UP" {
			t.Fatalf("attachment of %s on %s never UP: %+v, %v", vm, host, att, err)
		}
		return port
	}
	// All plugs go through host 1's API: the host field decides who wires.
	plug(c1, net1, vmA, "hv1")
	plug(c1, net1, vmB, "hv2")
	plug(c1, net2, vmC, "hv2")
	if ports := h1.hv.Vsctl("list-ports", "br-int"); regexp.MustCompile(`\btap[bc]\b`).MatchString(ports) {
		t.Errorf("hv1's br-int holds another host's attachments: %s", ports)
	}

	if !vmA.WaitPing(t, vmB.IP, true, pingWait) {
		t.Fatalf("%s cannot ping %s across hosts on net1", vmA, vmB)
	}
	if !vmA.CanTCP(t, vmB) {
		t.Errorf("TCP from %s to %s across hosts does not carry data", vmA, vmB)
	}
	if vmA.Ping(t, vmC.IP) {
		t.Errorf("%s pings %s on another network (other host)", vmA, vmC)
	}

	// net1's patch pair to the physical bridge (ovs/patch.go names it
	// qpi-<11 characters of the network id>) must not be touched either.
	patch := "qpi-" + net1[:11]
	before := wiringOf(h1, "tapa", patch)
	for k, v := range wiringOf(h2, "tapb", "tapc", patch) {
		before[k] = v
	}

	// A ping running across the leader's death.
	pingOut := &bytes.Buffer{}
	ping := exec.Command("ip", "netns", "exec", vmA.NetNS, "ping", "-c", "60", "-i", "0.2", "-W", "2", vmB.IP.String())
	ping.Stdout, ping.Stderr = pingOut, pingOut
	if err := ping.Start(); err != nil {
		t.Fatal(err)
	}
	pingDone := make(chan struct{})
	var pingErr error
	go func() { pingErr = ping.Wait(); close(pingDone) }()
	t.Cleanup(func() {
		select {
		case <-pingDone:
		default:
			_ = ping.Process.Kill() // by PID
			<-pingDone
		}
	})
	time.Sleep(2 * time.Second) // let some replies in first; no timing is asserted
	select {
	case <-pingDone:
		t.Fatalf("ping ended before the leader was killed: %v\n%s", pingErr, pingOut)
	default:
	}
	old := cluster.KillLeader()
	t.Logf("killed cluster leader: member %d (%s)", old.Index, old.Raft)

	// The API keeps answering: reads succeed or say serviceUnavailable,
	// and a write succeeds once a new leader is elected.
	var net3 string
	unavailable := 0
	writeDeadline := time.Now().Add(2 * time.Minute)
	for net3 == "" {
		if _, err := c2.ListNetworks(ctx, "demo", nil); err != nil && !errors.Is(err, client.ErrUnavailable) {
			t.Fatalf("read during the election: %v", err)
		}
		id, err := c1.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "net3"})
		switch {
		case err == nil:
			net3 = id
		case !errors.Is(err, client.ErrUnavailable):
			t.Fatalf("write during the election: %v, want success or serviceUnavailable", err)
		case time.Now().After(writeDeadline):
			t.Fatalf("no write succeeded after the leader died: %v", err)
		default:
			unavailable++
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("writes answered serviceUnavailable %d times before one succeeded", unavailable)
	if l := cluster.Leader(); l == old {
		t.Fatal("the killed member still leads")
	}

	// Host 2's agent works on the new leader too: a new VM there comes up
	// and reaches VM-a.
	vmD := testbed.AddVM(t, h2.hv, "vm-d", "tapd", "198.18.10.4/24")
	plug(c2, net1, vmD, "hv2")
	if !vmD.WaitPing(t, vmA.IP, true, pingWait) {
		t.Errorf("%s (plugged after the leader change) cannot ping %s", vmD, vmA)
	}
	if n, err := c2.GetNetwork(ctx, "demo", net3); err != nil || n.SegmentationID == vlans[net1] || n.SegmentationID == vlans[net2] {
		t.Errorf("net3 seen from host 2: %+v, %v; want it with a VLAN of its own", n, err)
	}

	select {
	case <-pingDone:
		if pingErr != nil {
			t.Logf("ping exit: %v", pingErr)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("ping across the leader change never finished")
	}
	sent, got := pingCounts(t, pingOut.String())
	t.Logf("ping across the leader change: %d sent, %d received", sent, got)
	if got != sent {
		t.Errorf("ping %s -> %s lost %d of %d packets across the leader change\n%s", vmA, vmB, sent-got, sent, pingOut)
	}

	after := wiringOf(h1, "tapa", patch)
	for k, v := range wiringOf(h2, "tapb", "tapc", patch) {
		after[k] = v
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed across the leader change: %+v -> %+v", k, v, after[k])
		}
	}
	if !vmA.WaitPing(t, vmB.IP, true, pingWait) {
		t.Errorf("%s cannot ping %s after the leader change", vmA, vmB)
	}
	if vmA.Ping(t, vmC.IP) {
		t.Errorf("%s pings %s on another network after the leader change", vmA, vmC)
	}

	// The killed member comes back and catches up.
	old.Start()
	old.WaitMember()
	if names := networkNames(ctx, t, c2); !slices.Contains(names, "net3") {
		t.Errorf("networks after the member rejoined: %v", names)
	}
}

var pingStats = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)

func pingCounts(t *testing.T, out string) (sent, received int) {
	t.Helper()
	m := pingStats.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no ping statistics in:\n%s", out)
	}
	sent, _ = strconv.Atoi(m[1])
	received, _ = strconv.Atoi(m[2])
	return sent, received
}

func networkNames(ctx context.Context, t *testing.T, c *client.Client) []string {
	t.Helper()
	nets, err := c.ListNetworksDetail(ctx, "demo", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range nets {
		out = append(out, n.Name)
	}
	return out
}
