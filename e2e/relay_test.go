package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// recoveryBound is how long the API may take to accept writes again after
// the DB side failed (a leader election, a relay restart): generous on
// purpose, the test asserts that it recovers, not how fast.
const recoveryBound = 2 * time.Minute

// relayFleet is hypervisors whose agents reach the cluster through relays,
// with every port a write acknowledged.
type relayFleet struct {
	t     *testing.T
	ctx   context.Context
	net   string            // the VXLAN network every VM joins
	acked map[string]string // port id -> what created it
	vms   int
}

// plugVM creates a port through c, plugs a new VM of hv into it and waits
// until the attachment is UP.
func (f *relayFleet) plugVM(c *client.Client, hv *testbed.LBHost, host string) {
	f.t.Helper()
	f.vms++
	vm := hv.AddVM(f.t, fmt.Sprintf("r%d", f.vms), fmt.Sprintf("tapr%d", f.vms), fmt.Sprintf("198.18.6.%d/24", f.vms))
	port, err := c.CreatePort(f.ctx, "demo", f.net, "ACTIVE")
	if err != nil {
		f.t.Fatalf("create port for %s: %v", vm, err)
	}
	f.acked[port] = "port of " + vm.Name
	if err := c.Plug(f.ctx, "demo", f.net, port, client.PlugRequest{ID: "vif-" + vm.Name, Device: vm.Tap, MAC: vm.MAC}); err != nil {
		f.t.Fatalf("plug %s on %s: %v", vm, host, err)
	}
	att, err := c.WaitAttachment(f.ctx, "demo", f.net, port, "UP", 60*time.Second)
	if err != nil || att == nil || att.Status != "UP" {
		f.t.Fatalf("attachment of %s on %s never UP: %+v, %v", vm, host, att, err)
	}
}

// writeUntilAccepted creates ports through c until one create succeeds:
// meanwhile every answer must be a success or serviceUnavailable, and reads
// through reader too. It returns how many writes were refused first.
func (f *relayFleet) writeUntilAccepted(what string, c, reader *client.Client) int {
	f.t.Helper()
	refused := 0
	deadline := time.Now().Add(recoveryBound)
	for {
		if _, err := reader.ListPorts(f.ctx, "demo", f.net, nil); err != nil && !errors.Is(err, client.ErrUnavailable) {
			f.t.Fatalf("read %s: %v, want success or serviceUnavailable", what, err)
		}
		port, err := c.CreatePort(f.ctx, "demo", f.net, "ACTIVE")
		switch {
		case err == nil:
			f.acked[port] = "write " + what
			return refused
		case !errors.Is(err, client.ErrUnavailable):
			f.t.Fatalf("write %s: %v, want success or serviceUnavailable", what, err)
		case time.Now().After(deadline):
			f.t.Fatalf("no write accepted within %s %s: %v", recoveryBound, what, err)
		}
		refused++
		time.Sleep(200 * time.Millisecond)
	}
}

// checkNothingLost fails unless every acknowledged port is listed through
// each client.
func (f *relayFleet) checkNothingLost(when string, clients ...*client.Client) {
	f.t.Helper()
	for i, c := range clients {
		var ports []client.Port
		testutil.Eventually(f.t, fmt.Sprintf("agent %d lists ports %s", i+1, when), recoveryBound, func() bool {
			var err error
			ports, err = c.ListPorts(f.ctx, "demo", f.net, nil)
			return err == nil
		})
		listed := map[string]bool{}
		for _, p := range ports {
			listed[p.ID] = true
		}
		for id, what := range f.acked {
			if !listed[id] {
				f.t.Errorf("%s: agent %d does not list port %s (%s), whose create was acknowledged", when, i+1, id, what)
			}
		}
	}
}

// TestAgentsBehindRelay: two Linux-bridge hypervisors whose agents reach the
// 3-member Raft cluster only through one relay. Killing the leader (SIGKILL)
// and restarting the relay each leave the API answering success or
// serviceUnavailable until writes are accepted again; no acknowledged write
// is lost, and new plugs come UP afterwards on both hosts.
func TestAgentsBehindRelay(t *testing.T) {
	testbed.RequireRoot(t)
	cluster := testbed.StartQuantumCluster(t, 3)
	relay := cluster.StartRelay()
	dir := testutil.ShortDir(t)
	hv1, hv2 := testbed.StartLBHost(t), testbed.StartLBHost(t)
	testbed.Underlay(t, hv1, hv2, "198.19.0.1", "198.19.0.2")
	c1 := startLBAgent(t, hv1, relay.Endpoint, dir, "relay-hv1", "198.19.0.1")
	c2 := startLBAgent(t, hv2, relay.Endpoint, dir, "relay-hv2", "198.19.0.2")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	f := &relayFleet{t: t, ctx: ctx, acked: map[string]string{}}
	netID, err := c1.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "relayed", NetworkType: "vxlan", SegmentationID: 4300})
	if err != nil {
		t.Fatal(err)
	}
	f.net = netID
	f.plugVM(c1, hv1, "relay-hv1")
	f.plugVM(c2, hv2, "relay-hv2")
	f.checkNothingLost("before any failure", c1, c2)

	old := cluster.KillLeader()
	t.Logf("killed cluster leader: member %d", old.Index)
	t.Logf("writes refused after the leader died: %d", f.writeUntilAccepted("after the leader died", c1, c2))
	if l := cluster.Leader(); l == old {
		t.Fatal("the killed member still leads")
	}
	f.plugVM(c2, hv2, "relay-hv2")
	f.checkNothingLost("after the leader died", c1, c2)

	relay.Restart()
	t.Logf("writes refused after the relay restarted: %d", f.writeUntilAccepted("after the relay restarted", c2, c1))
	f.plugVM(c1, hv1, "relay-hv1")
	f.plugVM(c2, hv2, "relay-hv2")
	f.checkNothingLost("after the relay restarted", c1, c2)

	old.Start()
	old.WaitMember()
	f.checkNothingLost("after the old leader rejoined", c1, c2)
}

// TestAgentWithTwoRelays: an agent given two relays as its remotes keeps
// working when either dies (each is killed in turn, the other running):
// writes are accepted again within the bound, nothing acknowledged is lost,
// and a new plug comes UP.
func TestAgentWithTwoRelays(t *testing.T) {
	testbed.RequireRoot(t)
	cluster := testbed.StartQuantumCluster(t, 3)
	relays := []*testbed.Relay{cluster.StartRelay(), cluster.StartRelay()}
	dir := testutil.ShortDir(t)
	hv := testbed.StartLBHost(t)
	c := startLBAgent(t, hv, relays[0].Endpoint+","+relays[1].Endpoint, dir, "two-relays", "198.19.0.1")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	f := &relayFleet{t: t, ctx: ctx, acked: map[string]string{}}
	netID, err := c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "two-relays", NetworkType: "local"})
	if err != nil {
		t.Fatal(err)
	}
	f.net = netID
	f.plugVM(c, hv, "two-relays")

	for i, r := range relays {
		r.Kill()
		t.Logf("killed relay %d; writes refused: %d", i, f.writeUntilAccepted(fmt.Sprintf("with relay %d dead", i), c, c))
		f.plugVM(c, hv, "two-relays")
		f.checkNothingLost(fmt.Sprintf("with relay %d dead", i), c)
		r.Start()
	}
}
