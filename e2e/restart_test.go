package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// wiredPair is a sandbox with one network and two VMs plugged and UP.
type wiredPair struct {
	s        *sandbox
	agent    *agentProc
	c        *client.Client
	net      string
	ports    []string
	vm1, vm2 *testbed.VM
}

func newWiredPair(t *testing.T) *wiredPair {
	t.Helper()
	s := newSandbox(t)
	w := &wiredPair{s: s, agent: s.start(t), c: client.New(s.socket)}
	w.vm1 = testbed.AddVM(t, s.hv, "vm1", "tapvm1", "198.18.1.1/24")
	w.vm2 = testbed.AddVM(t, s.hv, "vm2", "tapvm2", "198.18.1.2/24")
	ctx := ctxT(t)
	must := mustID(t)
	w.net = must(w.c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "net"}))
	for _, vm := range []*testbed.VM{w.vm1, w.vm2} {
		port := must(w.c.CreatePort(ctx, "demo", w.net, "ACTIVE"))
		if err := w.c.Plug(ctx, "demo", w.net, port, client.PlugRequest{ID: "vif-" + vm.Name, Device: vm.Tap, MAC: vm.MAC}); err != nil {
			t.Fatal(err)
		}
		w.ports = append(w.ports, port)
	}
	w.waitUp(t)
	if !w.vm1.WaitPing(t, w.vm2.IP, true, pingWait) {
		t.Fatalf("%s cannot ping %s", w.vm1, w.vm2)
	}
	return w
}

func (w *wiredPair) waitUp(t *testing.T) {
	t.Helper()
	for _, port := range w.ports {
		att, err := w.c.WaitAttachment(ctxT(t), "demo", w.net, port, "UP", 30*time.Second)
		if err != nil || att == nil || att.Status != "UP" {
			t.Fatalf("attachment on port %s not UP: %+v, %v", port, att, err)
		}
	}
}

// ofports maps each OVS interface of the VMs to its ofport.
func (w *wiredPair) ofports(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, vm := range []*testbed.VM{w.vm1, w.vm2} {
		out[vm.Tap] = strings.TrimSpace(w.s.hv.Vsctl("get", "Interface", vm.Tap, "ofport"))
	}
	return out
}

// continuousPing pings from vm to ip every 50 ms, count times, in the
// background; running says whether it still runs; wait returns how many
// replies were lost.
func continuousPing(t *testing.T, vm *testbed.VM, ip string, count int) (running func() bool, wait func() (lost int, out string)) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", vm.NetNS, "ping", "-i", "0.05", "-W", "1", "-c", strconv.Itoa(count), ip)
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	running = func() bool {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	return running, func() (int, string) {
		<-done
		m := regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`).FindStringSubmatch(buf.String())
		if m == nil {
			t.Fatalf("cannot read ping's summary:\n%s", buf.String())
		}
		sent, _ := strconv.Atoi(m[1])
		got, _ := strconv.Atoi(m[2])
		return sent - got, buf.String()
	}
}

// TestAgentRestartDisturbsNothing: stopping and starting the agent (cleanly
// and with SIGKILL) re-creates no port and loses no packet.
func TestAgentRestartDisturbsNothing(t *testing.T) {
	w := newWiredPair(t)
	before := w.ofports(t)
	running, wait := continuousPing(t, w.vm1, w.vm2.IP.String(), 400)
	time.Sleep(500 * time.Millisecond)
	if err := w.agent.term(t); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	w.agent = w.s.start(t)
	w.waitUp(t)
	w.agent.Kill()
	w.agent = w.s.start(t)
	w.waitUp(t)
	if !running() {
		t.Fatal("the ping ended before the restarts did: the test proves nothing; raise its count")
	}
	lost, out := wait()
	if lost != 0 {
		t.Errorf("lost %d pings across two agent restarts:\n%s", lost, out)
	}
	if after := w.ofports(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("ofports changed across restarts: before %v, after %v", before, after)
	}
}

// TestDriftHealed: a port deleted or re-tagged by hand is put back; a port
// the agent does not own is never touched.
func TestDriftHealed(t *testing.T) {
	w := newWiredPair(t)
	hv := w.s.hv
	hv.Vsctl("add-port", "br-int", "foreign0", "tag=7", "--", "set", "Interface", "foreign0", "type=internal")
	foreignBefore := hv.Vsctl("--columns=name,tag,external_ids", "list", "Port", "foreign0")

	tag := strings.TrimSpace(hv.Vsctl("get", "Port", w.vm1.Tap, "tag"))
	hv.Vsctl("set", "Port", w.vm1.Tap, "tag=999")
	testutil.Eventually(t, "re-tagged port healed", 60*time.Second, func() bool {
		return strings.TrimSpace(hv.Vsctl("get", "Port", w.vm1.Tap, "tag")) == tag
	})

	hv.Vsctl("del-port", "br-int", w.vm2.Tap)
	testutil.Eventually(t, "deleted port put back", 60*time.Second, func() bool {
		_, err := hv.VsctlErr("get", "Port", w.vm2.Tap, "tag")
		return err == nil
	})
	w.waitUp(t)
	if !w.vm1.WaitPing(t, w.vm2.IP, true, pingWait) {
		t.Errorf("no traffic after healing")
	}
	if after := hv.Vsctl("--columns=name,tag,external_ids", "list", "Port", "foreign0"); after != foreignBefore {
		t.Errorf("foreign port changed:\nbefore %s\nafter %s", foreignBefore, after)
	}
}

// TestPlugBeforeTap: a plug may arrive before its device exists; the agent
// completes it when the device appears, without anyone retrying.
func TestPlugBeforeTap(t *testing.T) {
	s := newSandbox(t)
	s.start(t)
	c := client.New(s.socket)
	ctx := ctxT(t)
	must := mustID(t)
	net := must(c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "net"}))
	vm1 := testbed.AddVM(t, s.hv, "vm1", "tapvm1", "198.18.2.1/24")
	p1 := must(c.CreatePort(ctx, "demo", net, "ACTIVE"))
	p2 := must(c.CreatePort(ctx, "demo", net, "ACTIVE"))
	if err := c.Plug(ctx, "demo", net, p1, client.PlugRequest{ID: "vif-1", Device: vm1.Tap}); err != nil {
		t.Fatal(err)
	}
	if err := c.Plug(ctx, "demo", net, p2, client.PlugRequest{ID: "vif-2", Device: "tapvm2"}); err != nil {
		t.Fatal(err)
	}
	att, err := c.WaitAttachment(ctx, "demo", net, p2, "DOWN", 30*time.Second)
	if err != nil || att.Status != "DOWN" || !strings.Contains(att.Reason, "tapvm2") {
		t.Fatalf("plug before its device: %+v, %v; want DOWN naming tapvm2", att, err)
	}
	vm2 := testbed.AddVM(t, s.hv, "vm2", "tapvm2", "198.18.2.2/24")
	att, err = c.WaitAttachment(ctx, "demo", net, p2, "UP", 30*time.Second)
	if err != nil || att.Status != "UP" {
		t.Fatalf("after the device appeared: %+v, %v; want UP", att, err)
	}
	if !vm1.WaitPing(t, vm2.IP, true, pingWait) {
		t.Errorf("no traffic to the late device")
	}
}

// TestOVSRestartsSurvived: ovs-vswitchd and the Open_vSwitch ovsdb-server
// restarting under the agent need no manual action.
func TestOVSRestartsSurvived(t *testing.T) {
	w := newWiredPair(t)
	w.s.hv.RestartVswitchd()
	w.waitUp(t)
	if !w.vm1.WaitPing(t, w.vm2.IP, true, 30*time.Second) {
		t.Fatalf("no traffic after ovs-vswitchd restarted")
	}
	w.s.hv.RestartDB()
	// The agent keeps wiring: a new plug after the restart comes UP.
	vm3 := testbed.AddVM(t, w.s.hv, "vm3", "tapvm3", "198.18.1.3/24")
	port := mustID(t)(w.c.CreatePort(ctxT(t), "demo", w.net, "ACTIVE"))
	if err := w.c.Plug(ctxT(t), "demo", w.net, port, client.PlugRequest{ID: "vif-vm3", Device: vm3.Tap}); err != nil {
		t.Fatal(err)
	}
	w.ports = append(w.ports, port)
	w.waitUp(t)
	if !w.vm1.WaitPing(t, vm3.IP, true, 30*time.Second) {
		t.Errorf("no traffic to a port plugged after the OVS DB restarted")
	}
}

// TestQuantumDBRestartSurvived: the Quantum DB's ovsdb-server restarting
// needs no manual action either; the API answers again once it is back.
func TestQuantumDBRestartSurvived(t *testing.T) {
	w := newWiredPair(t)
	w.s.qdb.Restart()
	testutil.Eventually(t, "API writes after the Quantum DB restarted", 60*time.Second, func() bool {
		_, err := w.c.CreatePort(ctxT(t), "demo", w.net, "DOWN")
		return err == nil
	})
	if !w.vm1.WaitPing(t, w.vm2.IP, true, pingWait) {
		t.Errorf("traffic lost after the Quantum DB restarted")
	}
}

// TestQuarantinedPortsIsolated: two admin-DOWN ports share the dead VLAN;
// they must not reach each other through it either.
func TestQuarantinedPortsIsolated(t *testing.T) {
	s := newSandbox(t)
	s.start(t)
	c := client.New(s.socket)
	ctx := ctxT(t)
	must := mustID(t)
	net := must(c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "net"}))
	vm1 := testbed.AddVM(t, s.hv, "vm1", "tapvm1", "198.18.3.1/24")
	vm2 := testbed.AddVM(t, s.hv, "vm2", "tapvm2", "198.18.3.2/24")
	for _, vm := range []*testbed.VM{vm1, vm2} {
		port := must(c.CreatePort(ctx, "demo", net, "DOWN"))
		if err := c.Plug(ctx, "demo", net, port, client.PlugRequest{ID: "vif-" + vm.Name, Device: vm.Tap}); err != nil {
			t.Fatal(err)
		}
		if att, err := c.WaitAttachment(ctx, "demo", net, port, "UP", 30*time.Second); err != nil || att.Status != "UP" {
			t.Fatalf("attachment of %s: %+v, %v", vm, att, err)
		}
	}
	if vm1.Ping(t, vm2.IP) {
		t.Fatalf("two quarantined (admin DOWN) ports reach each other on the dead VLAN")
	}
}

// TestWrongQuantumDBUnplugsNothing: an agent restarted against another,
// empty Quantum DB (a typo in --quantum-db, a re-created database) must not
// unplug the VMs the first database wired; it says so in its status.
func TestWrongQuantumDBUnplugsNothing(t *testing.T) {
	w := newWiredPair(t)
	before := w.ofports(t)
	if err := w.agent.term(t); err != nil {
		t.Fatal(err)
	}
	w.s.qdb = testbed.StartQuantumDBAt(t, testutil.ShortDir(t))
	w.agent = w.s.start(t)
	testutil.Eventually(t, "the warning about the other database's ports", 60*time.Second, func() bool {
		st, err := w.c.Status(ctxT(t))
		return err == nil && st.Ready && len(st.Warnings) == 1 && strings.Contains(st.Warnings[0], "2 ports")
	})
	if after := w.ofports(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("ports changed under an agent on another Quantum DB: before %v, after %v", before, after)
	}
	if !w.vm1.WaitPing(t, w.vm2.IP, true, pingWait) {
		t.Errorf("traffic cut by an agent on another Quantum DB")
	}
}
