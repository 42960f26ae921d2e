package testbed

import (
	"strings"
	"testing"
)

func TestQuantumClusterFailover(t *testing.T) {
	RequireRoot(t)
	c := StartQuantumCluster(t, 3)
	if eps := strings.Split(c.Endpoints(), ","); len(eps) != 3 {
		t.Fatalf("Endpoints = %v, want 3", eps)
	}
	for _, m := range c.Members {
		if out := Run(t, nil, "ovsdb-client", "list-dbs", m.Endpoint); !strings.Contains(out, clusterDB) {
			t.Fatalf("member %d list-dbs = %q", m.Index, out)
		}
	}
	old := c.KillLeader()
	if old.Running() {
		t.Fatal("killed leader still runs")
	}
	if l := c.Leader(); l == old {
		t.Fatalf("leader is still the killed member %d", old.Index)
	}
	old.Start()
	old.WaitMember()
	c.Leader()
}
