package testbed

import (
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// LBHost is a throwaway Linux-bridge hypervisor: a network namespace with
// only loopback in it (IPv6 off), where the datapath under test makes its
// bridges. VMs join it with AddVM.
type LBHost struct {
	NetNS string // namespace name, under /run/netns
	t     testing.TB
}

// StartLBHost makes a Linux-bridge hypervisor; t.Cleanup deletes its
// namespace, and with it every link in it.
func StartLBHost(t testing.TB) *LBHost {
	t.Helper()
	h := &LBHost{NetNS: UniqueName("qa-lb-"), t: t}
	AddNetNS(t, h.NetNS)
	return h
}

// NetNSPath is the namespace's path, for netlink handles bound to it.
func (h *LBHost) NetNSPath() string { return filepath.Join("/run/netns", h.NetNS) }

// AddVM adds a VM whose tap appears in this hypervisor.
func (h *LBHost) AddVM(t testing.TB, name, tapName, cidr string) *VM {
	t.Helper()
	return AddVMIn(t, h.NetNS, name, tapName, cidr)
}

// IP runs `ip -n NETNS args...` and returns its output, failing the test on
// error.
func (h *LBHost) IP(args ...string) string {
	h.t.Helper()
	return Run(h.t, nil, "ip", append([]string{"-n", h.NetNS}, args...)...)
}

// IPErr is IP returning the error instead of failing.
func (h *LBHost) IPErr(args ...string) (string, error) {
	return RunErr(nil, "ip", append([]string{"-n", h.NetNS}, args...)...)
}

// Bridge runs `bridge -n NETNS args...` (FDB and port inspection).
func (h *LBHost) Bridge(args ...string) string {
	h.t.Helper()
	return Run(h.t, nil, "bridge", append([]string{"-n", h.NetNS}, args...)...)
}

// Master returns the name of dev's master ("" when it has none).
func (h *LBHost) Master(dev string) string {
	h.t.Helper()
	out := h.IP("-o", "link", "show", "dev", dev)
	f := strings.Fields(out)
	for i := range f {
		if f[i] == "master" && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}

// IfIndex returns dev's ifindex, or 0 when it does not exist.
func (h *LBHost) IfIndex(dev string) int {
	out, err := h.IPErr("-o", "link", "show", "dev", dev)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSuffix(strings.Fields(out)[0], ":"))
	return n
}

// Underlay joins two hypervisors with a veth pair, "ul0" in each, addressed
// from 198.19.0.0/24 (aIP and bIP, e.g. "198.19.0.1"): the network VXLAN
// tunnels between them run over.
func Underlay(t testing.TB, a, b *LBHost, aIP, bIP string) {
	t.Helper()
	for _, ip := range []string{aIP, bIP} {
		addr := netip.MustParseAddr(ip)
		if !netip.MustParsePrefix("198.19.0.0/24").Contains(addr) {
			t.Fatalf("testbed: underlay address %s is outside 198.19.0.0/24", ip)
		}
	}
	Run(t, nil, "ip", "link", "add", "ul0", "netns", a.NetNS, "type", "veth", "peer", "name", "ul0", "netns", b.NetNS)
	for _, s := range []struct {
		h  *LBHost
		ip string
	}{{a, aIP}, {b, bIP}} {
		s.h.IP("addr", "add", s.ip+"/24", "dev", "ul0")
		s.h.IP("link", "set", "ul0", "up")
	}
}

// SetMTU sets the MTU of the VM's eth0 (a VM on a VXLAN network learns
// 1450 from DHCP in real life).
func (vm *VM) SetMTU(t testing.TB, mtu int) {
	t.Helper()
	Run(t, nil, "ip", "-n", vm.NetNS, "link", "set", "eth0", "mtu", strconv.Itoa(mtu))
}

// Has8021Q reports whether the kernel can make VLAN sub-interfaces, by
// trying in a scratch namespace; when it cannot, why says the kernel's
// answer.
func Has8021Q(t testing.TB) (ok bool, why string) {
	t.Helper()
	ns := UniqueName("qa-vlan-")
	AddNetNS(t, ns)
	Run(t, nil, "ip", "-n", ns, "link", "add", "qa0", "type", "veth", "peer", "name", "qa1")
	out, err := RunErr(nil, "ip", "-n", ns, "link", "add", "link", "qa0", "name", "qa0.7", "type", "vlan", "id", "7")
	if err != nil {
		return false, "kernel cannot make VLAN sub-interfaces (no 802.1Q support): " + strings.TrimSpace(out)
	}
	return true, ""
}

// Pinger is a ping running in the background from a VM.
type Pinger struct {
	cmd      *exec.Cmd
	out      strings.Builder
	done     chan error
	stopOnce sync.Once
}

// StartPing pings ip from the VM every interval until Stop.
func (vm *VM) StartPing(t testing.TB, ip netip.Addr, interval time.Duration) *Pinger {
	t.Helper()
	checkTestAddr(t, ip)
	p := &Pinger{done: make(chan error, 1)}
	p.cmd = exec.Command("ip", "netns", "exec", vm.NetNS, "ping", "-q", "-W", "1",
		"-i", fmt.Sprintf("%.3f", interval.Seconds()), ip.String())
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("testbed: start ping: %v", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.stop() })
	return p
}

var pingStats = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)

// Stop ends the ping (SIGINT to its PID: ping then prints its summary) and
// returns how many echo requests were sent and answered.
func (p *Pinger) Stop(t testing.TB) (sent, received int) {
	t.Helper()
	p.stop()
	m := pingStats.FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("testbed: no ping summary in %q", p.out.String())
	}
	sent, _ = strconv.Atoi(m[1])
	received, _ = strconv.Atoi(m[2])
	return sent, received
}

func (p *Pinger) stop() {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// AddVMIn is AddVM for any hypervisor namespace (an OVS one, or a Linux
// bridge one from StartLBHost): tapName appears in hvNetNS.
func AddVMIn(t testing.TB, hvNetNS, name, tapName, cidr string) *VM {
	t.Helper()
	pfx, err := netip.ParsePrefix(cidr)
	if err != nil {
		t.Fatalf("testbed: VM %s address: %v", name, err)
	}
	checkTestAddr(t, pfx.Addr())
	vm := &VM{Name: name, NetNS: UniqueName("qa-vm-"), Tap: tapName, IP: pfx.Addr(), t: t}
	AddNetNS(t, vm.NetNS)
	Run(t, nil, "ip", "link", "add", tapName, "netns", hvNetNS, "type", "veth",
		"peer", "name", "eth0", "netns", vm.NetNS)
	Run(t, nil, "ip", "netns", "exec", hvNetNS, "sysctl", "-q", "-w", "net.ipv6.conf."+tapName+".disable_ipv6=1")
	Run(t, nil, "ip", "netns", "exec", vm.NetNS, "sysctl", "-q", "-w", "net.ipv6.conf.eth0.disable_ipv6=1")
	Run(t, nil, "ip", "-n", vm.NetNS, "addr", "add", cidr, "dev", "eth0")
	Run(t, nil, "ip", "-n", vm.NetNS, "link", "set", "eth0", "up")
	Run(t, nil, "ip", "-n", hvNetNS, "link", "set", tapName, "up")
	vm.MAC = linkMAC(t, vm.NetNS, "eth0")
	return vm
}
