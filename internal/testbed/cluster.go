package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// Cluster is a Raft cluster of the Quantum DB: ovsdb-server members, each
// with its own directory and unix socket for clients. The members talk Raft
// over TCP on 127.0.0.1 inside a network namespace of their own, so fixed
// ports never clash with anything else on the machine (other tests,
// other clusters) and nothing needs an address outside the loopback.
type Cluster struct {
	NetNS   string
	Members []*Member
	t       testing.TB
}

// Member is one ovsdb-server of a Cluster.
type Member struct {
	Index    int    // 0-based, in Cluster.Members
	Dir      string // quantum.db, db.sock, db.pid, db.ctl, db.log
	Endpoint string // "unix:<Dir>/db.sock", for clients
	Raft     string // "tcp:127.0.0.1:<port>", for the other members
	c        *Cluster
}

// clusterDB is the database name inside the schema.
const clusterDB = "Quantum"

// raftBasePort is the first member's Raft port; member i uses base+i.
const raftBasePort = 6641

// StartQuantumCluster starts an n-member cluster of the Quantum schema and
// waits until every member has joined and a leader is elected; t.Cleanup
// stops it and removes everything.
func StartQuantumCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("testbed: a cluster of %d members", n)
	}
	c := &Cluster{NetNS: UniqueName("qa-qdbc-"), t: t}
	AddNetNS(t, c.NetNS)
	schema := filepath.Join(ModuleRoot(t), QuantumSchema)
	for i := range n {
		dir := testutil.ShortDir(t) // it holds a unix socket
		m := &Member{Index: i, Dir: dir, Endpoint: "unix:" + filepath.Join(dir, "db.sock"),
			Raft: fmt.Sprintf("tcp:127.0.0.1:%d", raftBasePort+i), c: c}
		c.Members = append(c.Members, m)
		db := m.path("quantum.db")
		if i == 0 {
			Run(t, nil, "ovsdb-tool", "create-cluster", db, schema, m.Raft)
		} else {
			// Joining through every earlier member works whichever leads.
			args := []string{"join-cluster", db, clusterDB, m.Raft}
			for _, prev := range c.Members[:i] {
				args = append(args, prev.Raft)
			}
			Run(t, nil, "ovsdb-tool", args...)
		}
		t.Cleanup(m.Stop) // registered after the netns: runs before its deletion
		m.Start()
	}
	ok := testutil.Poll(60*time.Second, testutil.PollInterval, func() bool {
		for _, m := range c.Members {
			if !strings.Contains(m.status(), "Status: cluster member") {
				return false
			}
		}
		return c.leader() != nil
	})
	if !ok {
		c.dumpStatus()
		t.Fatalf("testbed: cluster of %d never formed", n)
	}
	return c
}

// Endpoints is what an agent's --quantum-db takes: every member, comma-separated.
func (c *Cluster) Endpoints() string {
	eps := make([]string, len(c.Members))
	for i, m := range c.Members {
		eps[i] = m.Endpoint
	}
	return strings.Join(eps, ",")
}

// Leader waits (up to a minute) until one running member says it leads, and
// returns it.
func (c *Cluster) Leader() *Member {
	c.t.Helper()
	var l *Member
	if !testutil.Poll(60*time.Second, testutil.PollInterval, func() bool { l = c.leader(); return l != nil }) {
		c.dumpStatus()
		c.t.Fatal("testbed: no cluster leader")
	}
	return l
}

func (c *Cluster) leader() *Member {
	for _, m := range c.Members {
		if m.Running() && strings.Contains(m.status(), "Role: leader") {
			return m
		}
	}
	return nil
}

// KillLeader kills the current leader with SIGKILL (by PID) and returns it.
func (c *Cluster) KillLeader() *Member {
	c.t.Helper()
	l := c.Leader()
	l.Kill()
	return l
}

func (c *Cluster) dumpStatus() {
	for _, m := range c.Members {
		c.t.Logf("--- member %d (%s) ---\n%s", m.Index, m.Raft, m.status())
		if b, err := os.ReadFile(m.path("db.log")); err == nil {
			if len(b) > 3000 {
				b = b[len(b)-3000:]
			}
			c.t.Logf("--- member %d db.log (tail) ---\n%s", m.Index, b)
		}
	}
}

func (m *Member) path(name string) string { return filepath.Join(m.Dir, name) }

// Start starts the member's ovsdb-server (again) inside the cluster's
// namespace; its database file keeps its Raft state across restarts.
func (m *Member) Start() {
	m.c.t.Helper()
	Run(m.c.t, nil, "ip", "netns", "exec", m.c.NetNS, "ovsdb-server", m.path("quantum.db"),
		"--remote=punix:"+m.path("db.sock"), "--pidfile="+m.path("db.pid"),
		"--unixctl="+m.path("db.ctl"), "--log-file="+m.path("db.log"), "--detach")
}

// Stop stops the member (SIGTERM, then SIGKILL), keeping its database.
func (m *Member) Stop() {
	if err := StopPID(m.path("db.pid"), stopGrace); err != nil {
		m.c.t.Errorf("testbed: stop cluster member %d: %v", m.Index, err)
	}
}

// Kill kills the member with SIGKILL, as a crash would, and waits until it
// is gone.
func (m *Member) Kill() {
	m.c.t.Helper()
	pid := m.PID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		m.c.t.Fatalf("testbed: kill cluster member %d (pid %d): %v", m.Index, pid, err)
	}
	if !waitGone(pid, 10*time.Second) {
		m.c.t.Fatalf("testbed: cluster member %d (pid %d) survived SIGKILL", m.Index, pid)
	}
}

// Restart stops the member and starts it again.
func (m *Member) Restart() {
	m.c.t.Helper()
	m.Stop()
	m.Start()
}

// PID is the member's process id, from its pidfile.
func (m *Member) PID() int {
	m.c.t.Helper()
	pid, err := ReadPID(m.path("db.pid"))
	if err != nil {
		m.c.t.Fatalf("testbed: cluster member %d: %v", m.Index, err)
	}
	return pid
}

// Running reports whether the member's process is alive.
func (m *Member) Running() bool {
	pid, err := ReadPID(m.path("db.pid"))
	return err == nil && Alive(pid)
}

// Status is `ovs-appctl cluster/status Quantum` of the member ("" when it
// does not answer).
func (m *Member) Status() string { return m.status() }

// WaitMember waits until the member reports itself a full cluster member
// again (after a restart, it catches up from the leader).
func (m *Member) WaitMember() {
	m.c.t.Helper()
	if !testutil.Poll(60*time.Second, testutil.PollInterval, func() bool { return strings.Contains(m.status(), "Status: cluster member") }) {
		m.c.dumpStatus()
		m.c.t.Fatalf("testbed: cluster member %d never rejoined", m.Index)
	}
}

func (m *Member) status() string {
	if !m.Running() {
		return ""
	}
	out, err := RunErr(nil, "ovs-appctl", "-t", m.path("db.ctl"), "cluster/status", clusterDB)
	if err != nil {
		return ""
	}
	return out
}
