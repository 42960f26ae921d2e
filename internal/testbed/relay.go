package testbed

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// Relay is an OVSDB relay of the Quantum DB (ovsdb-server(1), "relay:"
// databases, OVS ≥ 2.16): it serves monitors and reads from its own copy and
// forwards every transaction to the cluster leader, so the leader talks to
// a few relays instead of every agent. It runs on the host side: its
// upstream remotes are the members' unix sockets and its own remote is a
// unix socket, which an agent in any namespace can reach.
type Relay struct {
	Dir      string // relay.sock, relay.pid, relay.ctl, relay.log
	Endpoint string // "unix:<Dir>/relay.sock", for clients
	Upstream string // the remotes it relays, comma-separated
	t        testing.TB
}

// StartRelay starts a relay of the cluster (all its members as upstream
// remotes) and waits until it serves the database; t.Cleanup stops it.
func (c *Cluster) StartRelay() *Relay {
	c.t.Helper()
	return StartRelay(c.t, c.Endpoints())
}

// StartRelay starts a relay of the Quantum DB served at upstream (one
// endpoint or several, comma-separated) and waits until it serves the
// database; t.Cleanup stops it.
func StartRelay(t testing.TB, upstream string) *Relay {
	t.Helper()
	dir := testutil.ShortDir(t) // it holds a unix socket
	r := &Relay{Dir: dir, Endpoint: "unix:" + filepath.Join(dir, "relay.sock"), Upstream: upstream, t: t}
	t.Cleanup(r.Stop)
	r.Start()
	return r
}

func (r *Relay) path(name string) string { return filepath.Join(r.Dir, name) }

// Start starts the relay (again) and waits until it serves the database
// with its upstream connected.
func (r *Relay) Start() {
	r.t.Helper()
	Run(r.t, nil, "ovsdb-server", "--remote=punix:"+r.path("relay.sock"),
		"--pidfile="+r.path("relay.pid"), "--unixctl="+r.path("relay.ctl"),
		"--log-file="+r.path("relay.log"), "--detach",
		"relay:"+clusterDB+":"+r.Upstream)
	r.WaitServing(60 * time.Second)
}

// WaitServing waits until the relay lists the Quantum DB as a connected
// relay database: it has fetched the schema and the data from upstream.
func (r *Relay) WaitServing(d time.Duration) {
	r.t.Helper()
	var last string
	ok := testutil.Poll(d, testutil.PollInterval, func() bool {
		last = r.serverState()
		return strings.Contains(last, `"connected":true`) && strings.Contains(last, `"model":"relay"`)
	})
	if !ok {
		r.t.Fatalf("testbed: relay %s never served %s (last _Server state %q)\n%s", r.Endpoint, clusterDB, last, r.logTail())
	}
}

// serverState is the relay's _Server.Database row of the Quantum DB, as
// JSON ("" when it does not answer).
func (r *Relay) serverState() string {
	if !r.Running() {
		return ""
	}
	q := fmt.Sprintf(`["_Server",{"op":"select","table":"Database","where":[["name","==",%q]],"columns":["connected","model"]}]`, clusterDB)
	out, err := RunErr(nil, "ovsdb-client", "--timeout=5", "transact", r.Endpoint, q)
	if err != nil {
		return ""
	}
	return strings.ReplaceAll(out, " ", "")
}

// Stop stops the relay (SIGTERM, then SIGKILL); it holds no state of its
// own: started again, it fetches everything from upstream.
func (r *Relay) Stop() {
	if err := StopPID(r.path("relay.pid"), stopGrace); err != nil {
		r.t.Errorf("testbed: stop relay %s: %v", r.Endpoint, err)
	}
}

// Kill kills the relay with SIGKILL, as a crash would, and waits until it
// is gone.
func (r *Relay) Kill() {
	r.t.Helper()
	pid := r.PID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		r.t.Fatalf("testbed: kill relay (pid %d): %v", pid, err)
	}
	if !waitGone(pid, 10*time.Second) {
		r.t.Fatalf("testbed: relay (pid %d) survived SIGKILL", pid)
	}
}

// Restart stops the relay and starts it again on the same socket.
func (r *Relay) Restart() {
	r.t.Helper()
	r.Stop()
	r.Start()
}

// PID is the relay's process id, from its pidfile.
func (r *Relay) PID() int {
	r.t.Helper()
	pid, err := ReadPID(r.path("relay.pid"))
	if err != nil {
		r.t.Fatalf("testbed: relay: %v", err)
	}
	return pid
}

// Running reports whether the relay's process is alive.
func (r *Relay) Running() bool {
	pid, err := ReadPID(r.path("relay.pid"))
	return err == nil && Alive(pid)
}

// Appctl runs `ovs-appctl -t <relay's control socket> args...` (e.g.
// memory/show) and returns its output, failing the test on error.
func (r *Relay) Appctl(args ...string) string {
	r.t.Helper()
	return Run(r.t, nil, "ovs-appctl", append([]string{"-t", r.path("relay.ctl")}, args...)...)
}

func (r *Relay) logTail() string {
	out, _ := RunErr(nil, "tail", "-n", "30", r.path("relay.log"))
	return out
}
