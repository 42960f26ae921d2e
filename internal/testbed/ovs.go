package testbed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// OVSOptions tunes a test-bed hypervisor.
type OVSOptions struct {
	// NoUserspaceTSO leaves other_config:userspace-tso-enable unset, to
	// test what happens without it (TCP through veths then stalls).
	NoUserspaceTSO bool
}

// OVS is a throwaway hypervisor: ovsdb-server and ovs-vswitchd running in a
// network namespace of their own.
type OVS struct {
	NetNS    string // namespace name, under /run/netns
	Dir      string // holds conf.db, sockets, pidfiles and logs
	DBSocket string // OVSDB endpoint, "unix:<Dir>/db.sock"
	t        testing.TB
}

// StartOVS starts a hypervisor; t.Cleanup stops it and removes everything.
func StartOVS(t testing.TB, opts OVSOptions) *OVS {
	t.Helper()
	dir := testutil.ShortDir(t)
	o := &OVS{NetNS: UniqueName("qa-hv-"), Dir: dir, DBSocket: "unix:" + filepath.Join(dir, "db.sock"), t: t}
	t.Cleanup(func() {
		if t.Failed() {
			o.dumpLogs()
		}
	})
	AddNetNS(t, o.NetNS) // registered after the directory's removal: runs before it
	Run(t, nil, "ovsdb-tool", "create", o.path("conf.db"), VswitchSchema)
	// Registered once, here, so that they run after the cleanups of
	// whatever the test builds on this hypervisor, restarts included.
	t.Cleanup(func() { o.stop("ovsdb.pid") })
	t.Cleanup(func() { o.stop("vswitchd.pid") })
	o.startDB()
	init := []string{"--no-wait", "init"}
	if !opts.NoUserspaceTSO {
		init = append(init, "--", "set", "Open_vSwitch", ".", "other_config:userspace-tso-enable=true")
	}
	o.Vsctl(init...)
	o.StartVswitchd()
	return o
}

func (o *OVS) path(name string) string { return filepath.Join(o.Dir, name) }

func (o *OVS) env() []string {
	return []string{"OVS_RUNDIR=" + o.Dir, "OVS_LOGDIR=" + o.Dir, "OVS_DBDIR=" + o.Dir}
}

func (o *OVS) startDB() {
	o.t.Helper()
	Run(o.t, o.env(), "ip", "netns", "exec", o.NetNS, "ovsdb-server", o.path("conf.db"),
		"--remote=punix:"+o.path("db.sock"), "--pidfile="+o.path("ovsdb.pid"),
		"--unixctl="+o.path("ovsdb.ctl"), "--log-file="+o.path("ovsdb.log"), "--detach")
}

// RestartDB stops the hypervisor's ovsdb-server and starts it again on the
// same database: clients see their connection drop and must reconnect.
func (o *OVS) RestartDB() {
	o.t.Helper()
	o.stop("ovsdb.pid")
	o.startDB()
}

// StartVswitchd starts ovs-vswitchd; StartOVS already did.
func (o *OVS) StartVswitchd() {
	o.t.Helper()
	Run(o.t, o.env(), "ip", "netns", "exec", o.NetNS, "ovs-vswitchd", o.DBSocket,
		"--pidfile="+o.path("vswitchd.pid"), "--unixctl="+o.path("vswitchd.ctl"),
		"--log-file="+o.path("vswitchd.log"), "--detach")
}

// StopVswitchd stops ovs-vswitchd and waits until its userspace datapath
// device (ovs-netdev) is gone: starting a new one earlier can leave it
// without a datapath ("creating tap device failed: Device or resource busy").
// It asks vswitchd to exit removing its datapath (the tap devices of the
// userspace datapath are persistent and outlive a plain SIGTERM), then makes
// sure the process is gone. Database contents are untouched.
func (o *OVS) StopVswitchd() {
	o.t.Helper()
	if pid, err := ReadPID(o.path("vswitchd.pid")); err == nil {
		// A signal while it removes its datapath would leave devices behind.
		if out, err := RunErr(o.env(), "ovs-appctl", "-t", o.path("vswitchd.ctl"), "exit", "--cleanup"); err != nil {
			o.t.Logf("testbed: ovs-appctl exit --cleanup: %v %s (stopping by PID)", err, out)
		} else if !waitGone(pid, 30*time.Second) {
			o.t.Logf("testbed: ovs-vswitchd (pid %d) still runs after exit --cleanup (stopping by PID)", pid)
		}
	}
	o.stop("vswitchd.pid")
	gone := testutil.Poll(30*time.Second, testutil.PollInterval, func() bool {
		_, err := RunErr(nil, "ip", "-n", o.NetNS, "link", "show", "ovs-netdev")
		return err != nil
	})
	if !gone {
		links, _ := RunErr(nil, "ip", "-n", o.NetNS, "-d", "link")
		o.t.Logf("links in %s:\n%s", o.NetNS, links)
		o.t.Fatalf("datapath device ovs-netdev still in %s after ovs-vswitchd stopped", o.NetNS)
	}
}

// RestartVswitchd stops ovs-vswitchd, waits for its datapath to go and
// starts it again.
func (o *OVS) RestartVswitchd() {
	o.t.Helper()
	o.StopVswitchd()
	o.StartVswitchd()
}

func (o *OVS) stop(pidfile string) {
	if err := StopPID(o.path(pidfile), stopGrace); err != nil {
		o.t.Errorf("testbed: %v", err)
	}
}

// Vsctl runs ovs-vsctl against this hypervisor's database and returns its
// trimmed output; it fails the test on error.
func (o *OVS) Vsctl(args ...string) string {
	o.t.Helper()
	out, err := o.VsctlErr(args...)
	if err != nil {
		o.t.Fatal(err)
	}
	return out
}

// VsctlErr is Vsctl returning the error instead of failing.
func (o *OVS) VsctlErr(args ...string) (string, error) {
	full := append([]string{"--db=" + o.DBSocket, "--timeout=20"}, args...)
	out, err := RunErr(o.env(), "ovs-vsctl", full...)
	return strings.TrimSpace(out), err
}

// dumpLogs logs the daemons' log tails, to explain a failed test.
func (o *OVS) dumpLogs() {
	for _, name := range []string{"ovsdb.log", "vswitchd.log"} {
		b, err := os.ReadFile(o.path(name))
		if err != nil {
			continue
		}
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		o.t.Logf("--- %s (tail) ---\n%s", name, b)
	}
}
