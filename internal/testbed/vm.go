package testbed

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// VM is a "virtual machine": a namespace whose eth0 is the peer of a veth
// device (its "tap") in the hypervisor's namespace.
type VM struct {
	Name  string // as given to AddVM
	NetNS string // the VM's namespace
	Tap   string // the device in the hypervisor's namespace
	IP    netip.Addr
	MAC   string // eth0's MAC address
	t     testing.TB
}

// AddVM creates a VM with address cidr (inside 198.18.0.0/15) whose tap
// device tapName appears in hv's namespace, both ends up and without IPv6.
// t.Cleanup deletes the VM's namespace, which removes both veth ends.
func AddVM(t testing.TB, hv *OVS, name, tapName, cidr string) *VM {
	t.Helper()
	return AddVMIn(t, hv.NetNS, name, tapName, cidr)
}

func linkMAC(t testing.TB, ns, dev string) string {
	t.Helper()
	fields := strings.Fields(Run(t, nil, "ip", "-n", ns, "-o", "link", "show", dev))
	for i, f := range fields {
		if f == "link/ether" && i+1 < len(fields) {
			return fields[i+1]
		}
	}
	t.Fatalf("testbed: no MAC address on %s in %s", dev, ns)
	return ""
}

// Ping reports whether ip answers two pings (one second each) from inside
// the VM. ip must be inside 198.18.0.0/15.
func (vm *VM) Ping(t testing.TB, ip netip.Addr) bool {
	t.Helper()
	checkTestAddr(t, ip)
	_, err := RunErr(nil, "ip", "netns", "exec", vm.NetNS, "ping", "-q", "-c", "2", "-W", "1", ip.String())
	return err == nil
}

// WaitPing pings ip from the VM until the answer is want or d has passed,
// and reports whether it was: wiring is asynchronous, so the first packets
// may precede it.
func (vm *VM) WaitPing(t testing.TB, ip netip.Addr, want bool, d time.Duration) bool {
	t.Helper()
	return testutil.Poll(d, 200*time.Millisecond, func() bool { return vm.Ping(t, ip) == want })
}

// tcpBytes is how much CanTCP sends: enough for TSO/GSO-sized segments,
// which is what stalls on a userspace datapath without userspace TSO.
const tcpBytes = 4 << 20

// CanTCP reports whether a TCP connection from vm to other carries
// tcpBytes intact within a few seconds. Sockets are opened inside each VM's
// namespace; the transfer itself runs in the test process.
func (vm *VM) CanTCP(t testing.TB, other *VM) bool {
	t.Helper()
	checkTestAddr(t, other.IP)
	var ln net.Listener
	err := InNetNS(other.NetNS, func() (err error) {
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(other.IP, 0).String())
		return err
	})
	if err != nil {
		t.Fatalf("testbed: listen in VM %s: %v", other.Name, err)
	}
	defer ln.Close()
	const timeout = 10 * time.Second
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(timeout))
		b, _ := io.ReadAll(c)
		got <- b
	}()
	payload := make([]byte, tcpBytes)
	_, _ = rand.Read(payload)
	var conn net.Conn
	err = InNetNS(vm.NetNS, func() (err error) {
		d := net.Dialer{Timeout: 3 * time.Second}
		conn, err = d.Dial("tcp4", ln.Addr().String())
		return err
	})
	if err != nil {
		t.Logf("testbed: TCP %s -> %s: %v", vm.Name, other.Name, err)
		return false
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	n, err := conn.Write(payload)
	conn.Close()
	if err != nil {
		t.Logf("testbed: TCP %s -> %s: wrote %d of %d bytes: %v", vm.Name, other.Name, n, len(payload), err)
		return false
	}
	b := <-got
	if !bytes.Equal(b, payload) {
		t.Logf("testbed: TCP %s -> %s: received %d of %d bytes", vm.Name, other.Name, len(b), len(payload))
		return false
	}
	return true
}

// String names the VM for messages.
func (vm *VM) String() string { return fmt.Sprintf("VM %s (%s on %s)", vm.Name, vm.IP, vm.Tap) }
