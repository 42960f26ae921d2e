package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
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
	h := &hypervisor{b: b, peers: testbed.UniqueName("qa-peers-")}
	// Made first so that its cleanup runs last, after OVS has stopped.
	testbed.AddNetNS(b, h.peers)
	h.ovs = testbed.StartOVS(b, testbed.OVSOptions{})
	// Runs before the test bed's own stop, which allows 15 s: vswitchd
	// closing thousands of ports takes longer (about 13 ms each, in the
	// kernel).
	b.Cleanup(func() {
		if err := testbed.StopPID(filepath.Join(h.ovs.Dir, "vswitchd.pid"), 10*time.Minute); err != nil {
			b.Logf("stop ovs-vswitchd: %v", err)
		}
	})
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
		got := strings.TrimSpace(testbed.Run(h.b, nil, "ip", "netns", "exec", ns.name, "cat",
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
	up := 0
	ok := testutil.Poll(timeout, testutil.PollInterval, func() bool {
		up = 0
		for _, of := range h.interfaces() {
			if of > 0 {
				up++
			}
		}
		return up >= n
	})
	if !ok {
		h.b.Fatalf("only %d of %d interfaces have an ofport after %s", up, n, timeout)
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
	h.vsctl("set", "Open_vSwitch", ".", "external_ids:bench-barrier="+testbed.UniqueName(""))
}

// pids of the hypervisor's daemons, for CPU accounting.
func (h *hypervisor) pids() map[string]int {
	h.b.Helper()
	m := map[string]int{}
	for name, file := range map[string]string{"ovs-vswitchd": "vswitchd.pid", "ovsdb-server (Open_vSwitch)": "ovsdb.pid"} {
		if pid, err := testbed.ReadPID(filepath.Join(h.ovs.Dir, file)); err == nil {
			m[name] = pid
		}
	}
	return m
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
