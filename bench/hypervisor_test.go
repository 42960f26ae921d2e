package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/internal/testbed"
)

// bridge is the integration bridge every case wires into.
const bridge = "br-int"

// hypervisor is a throwaway userspace-OVS hypervisor with br-int
// (datapath_type=netdev) and, optionally, N veth pairs whose hypervisor ends
// are the devices to wire. The other ends live in one "peers" namespace,
// up, so that the hypervisor ends have carrier. IPv6 is off on every device
// (net.ipv6.conf.default.disable_ipv6=1 in both namespaces before they are
// made, checked on one device): link-local addresses slow the userspace
// datapath's reconfiguration down (DESIGN.md §6).
type hypervisor struct {
	b     *testing.B
	ovs   *testbed.OVS
	peers string   // namespace of the veth peers
	devs  []string // device names in the hypervisor's namespace
}

// newHypervisor starts OVS in a fresh namespace, makes br-int and n devices.
// Setup is untimed: callers stop the benchmark timer around it.
func newHypervisor(b *testing.B, n int) *hypervisor {
	b.Helper()
	h := &hypervisor{b: b, peers: uniqueName("qa-peers-")}
	// Made first so that its cleanup runs last, after OVS has stopped.
	addNetNS(b, h.peers)
	h.ovs = testbed.StartOVS(b, testbed.OVSOptions{})
	// Runs before the test bed's own stop, which allows 15 s: vswitchd
	// closing thousands of ports takes longer (about 13 ms each, in the
	// kernel).
	b.Cleanup(func() { stopSlowly(b, filepath.Join(h.ovs.Dir, "vswitchd.pid"), 10*time.Minute) })
	h.ovs.Vsctl("add-br", bridge, "--", "set", "Bridge", bridge, "datapath_type=netdev")
	h.addDevices(n)
	return h
}

// addDevices makes n veth pairs, both ends up, with one `ip -batch` per
// namespace.
func (h *hypervisor) addDevices(n int) {
	h.b.Helper()
	if n == 0 {
		return
	}
	var hv, peer bytes.Buffer
	for i := range n {
		dev := fmt.Sprintf("qvb%05d", i)
		fmt.Fprintf(&hv, "link add %s type veth peer name qpr%05d netns %s\n", dev, i, h.peers)
		fmt.Fprintf(&hv, "link set %s up\n", dev)
		fmt.Fprintf(&peer, "link set qpr%05d up\n", i)
		h.devs = append(h.devs, dev)
	}
	ipBatch(h.b, h.ovs.NetNS, hv.Bytes())
	ipBatch(h.b, h.peers, peer.Bytes())
	for _, ns := range []struct{ name, dev string }{{h.ovs.NetNS, h.devs[0]}, {h.peers, "qpr00000"}} {
		got := strings.TrimSpace(mustRun(h.b, "ip", "netns", "exec", ns.name, "cat",
			"/proc/sys/net/ipv6/conf/"+ns.dev+"/disable_ipv6"))
		if got != "1" {
			h.b.Fatalf("IPv6 is on for %s in %s (disable_ipv6=%s)", ns.dev, ns.name, got)
		}
	}
}

// vsctl runs ovs-vsctl on the hypervisor's database, waiting for vswitchd
// (the default, as os-vif and Neutron run it).
func (h *hypervisor) vsctl(args ...string) string {
	h.b.Helper()
	full := append([]string{"--db=" + h.ovs.DBSocket, "--timeout=600"}, args...)
	cmd := exec.Command("ovs-vsctl", full...)
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+h.ovs.Dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.b.Fatalf("ovs-vsctl %s: %v: %s", abbreviate(strings.Join(args, " ")), err, out)
	}
	return strings.TrimSpace(string(out))
}

// interfaces returns name -> ofport of every Interface row but the bridge's
// own.
func (h *hypervisor) interfaces() map[string]int {
	h.b.Helper()
	out := h.vsctl("--no-wait", "-f", "csv", "--no-headings", "--columns=name,ofport", "list", "Interface")
	m := map[string]int{}
	for line := range strings.Lines(out) {
		name, port, ok := strings.Cut(strings.TrimSpace(line), ",")
		if !ok || name == bridge {
			continue
		}
		n, err := strconv.Atoi(strings.Trim(port, `"[]`))
		if err != nil {
			n = 0 // not yet assigned: []
		}
		m[name] = n
	}
	return m
}

// waitOfports polls until n interfaces have a positive ofport: the state
// the agent reports as UP.
func (h *hypervisor) waitOfports(n int, timeout time.Duration) {
	h.b.Helper()
	deadline := time.Now().Add(timeout)
	for {
		up := 0
		for _, of := range h.interfaces() {
			if of > 0 {
				up++
			}
		}
		if up >= n {
			return
		}
		if time.Now().After(deadline) {
			h.b.Fatalf("only %d of %d interfaces have an ofport after %s", up, n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// portCount is how many ports br-int has besides its own.
func (h *hypervisor) portCount() int {
	h.b.Helper()
	out := h.vsctl("--no-wait", "list-ports", bridge)
	return len(strings.Fields(out))
}

// barrier returns once ovs-vswitchd has applied the database as it is now:
// a no-op write that ovs-vsctl waits for (next_cfg is bumped, vswitchd
// reconfigures from the whole database and reports cur_cfg).
func (h *hypervisor) barrier() {
	h.b.Helper()
	h.vsctl("set", "Open_vSwitch", ".", "external_ids:bench-barrier="+uniqueName(""))
}

// pids of the hypervisor's daemons, for CPU accounting.
func (h *hypervisor) pids() map[string]int {
	h.b.Helper()
	m := map[string]int{}
	for name, file := range map[string]string{"ovs-vswitchd": "vswitchd.pid", "ovsdb-server (Open_vSwitch)": "ovsdb.pid"} {
		if pid, err := readPID(filepath.Join(h.ovs.Dir, file)); err == nil {
			m[name] = pid
		}
	}
	return m
}

// addNetNS makes a namespace with IPv6 off and loopback up; cleanup
// deletes it (and the veth ends in it, which takes their peers along).
func addNetNS(b *testing.B, name string) {
	b.Helper()
	mustRun(b, "ip", "netns", "add", name)
	b.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			b.Errorf("delete netns %s: %v %s", name, err, out)
		}
	})
	mustRun(b, "ip", "-n", name, "link", "set", "lo", "up")
	for _, k := range []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"} {
		mustRun(b, "ip", "netns", "exec", name, "sysctl", "-q", "-w", k+"=1")
	}
}

func ipBatch(b *testing.B, ns string, script []byte) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "-n", ns, "-batch", "-")
	cmd.Stdin = bytes.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("ip -n %s -batch: %v: %s", ns, err, abbreviate(string(out)))
	}
}

func mustRun(b *testing.B, name string, args ...string) string {
	b.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		b.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func uniqueName(prefix string) string {
	buf := make([]byte, 4)
	_, _ = rand.Read(buf)
	return prefix + hex.EncodeToString(buf)
}

func readPID(pidfile string) (int, error) {
	raw, err := os.ReadFile(pidfile)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(raw)))
}

// stopSlowly sends SIGTERM to the process of pidfile and waits up to
// timeout for it to be gone.
func stopSlowly(b *testing.B, pidfile string, timeout time.Duration) {
	pid, err := readPID(pidfile)
	if err != nil || !alive(pid) {
		return
	}
	start := time.Now()
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for alive(pid) {
		if time.Since(start) > timeout {
			b.Logf("pid %d (%s) still runs %s after SIGTERM", pid, pidfile, timeout)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// cpuSeconds is the user+system CPU time a process has used so far.
func cpuSeconds(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// cpuMeter measures the CPU seconds each named process uses between
// newCPUMeter and done.
type cpuMeter struct {
	pids  map[string]int
	start map[string]float64
}

func newCPUMeter(pids map[string]int) *cpuMeter {
	m := &cpuMeter{pids: pids, start: map[string]float64{}}
	for name, pid := range pids {
		m.start[name] = cpuSeconds(pid)
	}
	return m
}

func (m *cpuMeter) done() map[string]float64 {
	out := map[string]float64{}
	for name, pid := range m.pids {
		out[name] = cpuSeconds(pid) - m.start[name]
	}
	return out
}

func abbreviate(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}
