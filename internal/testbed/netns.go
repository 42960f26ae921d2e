package testbed

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// testNet is the only range the test bed puts on interfaces and sends to.
var testNet = netip.MustParsePrefix("198.18.0.0/15")

// UniqueName returns prefix plus random hex, short enough for a netns or
// link name.
func UniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// AddNetNS creates a named network namespace, deleted at cleanup, with its
// loopback up and IPv6 off (link-local addresses slow the userspace
// datapath down).
func AddNetNS(t testing.TB, name string) {
	t.Helper()
	Run(t, nil, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := RunErr(nil, "ip", "netns", "del", name); err != nil {
			t.Errorf("delete netns %s: %v %s", name, err, out)
		}
	})
	Run(t, nil, "ip", "-n", name, "link", "set", "lo", "up")
	for _, k := range []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"} {
		Run(t, nil, "ip", "netns", "exec", name, "sysctl", "-q", "-w", k+"=1")
	}
}

// InNetNS runs fn on an OS thread switched into the named namespace. Sockets
// fn creates stay in that namespace after it returns. The thread is thrown
// away if it cannot be switched back.
func InNetNS(name string, fn func() error) error {
	target, err := os.Open(filepath.Join("/run/netns", name))
	if err != nil {
		return fmt.Errorf("open netns %s: %w", name, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open own netns: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter netns %s: %w", name, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			errc <- fmt.Errorf("leave netns %s: %w", name, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// checkTestAddr refuses addresses outside 198.18.0.0/15.
func checkTestAddr(t testing.TB, a netip.Addr) {
	t.Helper()
	if !testNet.Contains(a) {
		t.Fatalf("testbed: address %s is outside %s", a, testNet)
	}
}
