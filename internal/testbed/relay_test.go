package testbed

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// insertNetworkVia inserts a Network row named name through endpoint; ""
// when the transaction committed, else why not.
func insertNetworkVia(endpoint, name string) string {
	txn := fmt.Sprintf(`["Quantum",{"op":"insert","table":"Network","row":{"name":%q,"tenant_id":"t","network_type":"local","segment_key":"local:%s"}}]`, name, name)
	out, err := RunErr(nil, "ovsdb-client", "--timeout=5", "transact", endpoint, txn)
	switch {
	case err != nil:
		return err.Error()
	case strings.Contains(out, `"error"`):
		return out
	}
	return ""
}

// networkNames lists the Network names endpoint serves.
func networkNames(t *testing.T, endpoint string) string {
	t.Helper()
	return Run(t, nil, "ovsdb-client", "--timeout=5", "dump", endpoint, clusterDB, "Network", "name")
}

// TestRelayOfCluster: a relay in front of a 3-member cluster serves what the
// members hold and forwards writes to the leader; with the leader killed,
// writes through the relay succeed again once a new one is elected; a
// restarted relay fetches everything again.
func TestRelayOfCluster(t *testing.T) {
	RequireRoot(t)
	c := StartQuantumCluster(t, 3)
	r := c.StartRelay()
	if !strings.Contains(Run(t, nil, "ovsdb-client", "list-dbs", r.Endpoint), clusterDB) {
		t.Fatalf("relay does not list %s", clusterDB)
	}
	if why := insertNetworkVia(r.Endpoint, "via-relay"); why != "" {
		t.Fatalf("insert through the relay: %s", why)
	}
	if got := networkNames(t, c.Leader().Endpoint); !strings.Contains(got, "via-relay") {
		t.Fatalf("the leader holds %q, without the row written through the relay", got)
	}
	if why := insertNetworkVia(c.Leader().Endpoint, "via-leader"); why != "" {
		t.Fatalf("insert through the leader: %s", why)
	}
	testutil.Eventually(t, "row written at the leader seen through the relay", 30*time.Second, func() bool {
		return strings.Contains(networkNames(t, r.Endpoint), "via-leader")
	})

	old := c.KillLeader()
	t.Logf("killed leader: member %d", old.Index)
	var why string
	if !testutil.Poll(2*time.Minute, 200*time.Millisecond, func() bool { why = insertNetworkVia(r.Endpoint, "after-kill"); return why == "" }) {
		t.Fatalf("no write through the relay succeeded after the leader died: %s", why)
	}

	pid := r.PID()
	r.Restart()
	if r.PID() == pid {
		t.Fatal("relay restart kept the same process")
	}
	got := networkNames(t, r.Endpoint)
	for _, name := range []string{"via-relay", "via-leader", "after-kill"} {
		if !strings.Contains(got, name) {
			t.Errorf("restarted relay serves %q, without %s", got, name)
		}
	}

	r.Kill()
	if r.Running() {
		t.Fatal("killed relay still runs")
	}
	r.Start()
	if why := insertNetworkVia(r.Endpoint, "after-relay-kill"); why != "" {
		t.Fatalf("insert through the relay started again after SIGKILL: %s", why)
	}
}
