package agent_test

import (
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
	"github.com/quantum-agent/quantum-agent/agent/qdb"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// schema110Model is the client model an agent built with schema 1.1.0 has:
// every table but Idempotency (1.2.0 added only that table, so the models
// of the others are what 1.1.0 generated).
func schema110Model(t *testing.T) model.ClientDBModel {
	t.Helper()
	m, err := model.NewClientDBModel("Quantum", map[string]model.Model{
		qdb.GlobalTable: &qdb.Global{}, qdb.NetworkTable: &qdb.Network{}, qdb.PortTable: &qdb.Port{},
		qdb.AttachmentTable: &qdb.Attachment{}, qdb.ChassisTable: &qdb.Chassis{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSchema110AgentOnSchema120: during a rolling upgrade, agents of the
// previous version keep working on a Quantum DB already converted to
// 1.2.0. libovsdb checks only that the tables of the client's model exist
// in the server's schema and monitors only those, so the new table is
// invisible to it; this shows it on both servers, with a new agent writing
// keyed creates beside it.
func TestSchema110AgentOnSchema120(t *testing.T) {
	servers := map[string]func(t *testing.T) string{
		"in-process":   func(t *testing.T) string { return agenttest.StartServer(t) },
		"ovsdb-server": func(t *testing.T) string { testbed.RequireRoot(t); return testbed.StartQuantumDB(t) },
	}
	for name, start := range servers {
		t.Run(name, func(t *testing.T) {
			endpoint := start(t)
			newAgent := agenttest.NewAt(t, endpoint, agenttest.DefaultConfig())
			old, err := client.NewOVSDBClient(schema110Model(t), client.WithEndpoint(endpoint))
			if err != nil {
				t.Fatal(err)
			}
			if err := old.Connect(ctx(t)); err != nil {
				t.Fatalf("a 1.1.0 client connecting to a 1.2.0 Quantum DB: %v", err)
			}
			t.Cleanup(old.Close)
			if _, err := old.MonitorAll(ctx(t)); err != nil {
				t.Fatalf("a 1.1.0 client monitoring a 1.2.0 Quantum DB: %v", err)
			}
			// The old agent writes as it always did...
			row := &qdb.Network{UUID: "net", TenantID: "t1", Name: "old", NetworkType: agent.NetworkTypeLocal, SegmentKey: "local:old"}
			ops, err := old.Create(row)
			if err != nil {
				t.Fatal(err)
			}
			res, err := old.Transact(ctx(t), ops...)
			if err != nil || len(res) != 1 || res[0].Error != "" {
				t.Fatalf("a 1.1.0 client's insert: %+v, %v", res, err)
			}
			// ...and reads what the new agent makes under a key.
			n, err := newAgent.CreateNetwork(withKey(t, "k1"), "t1", agent.NetworkSpec{Name: "new"})
			if err != nil {
				t.Fatal(err)
			}
			got := &qdb.Network{UUID: n.ID}
			testutil.Eventually(t, "the 1.1.0 client's cache to get the new agent's network", 10*time.Second, func() bool {
				return old.Get(ctx(t), got) == nil
			})
			if got.Name != "new" {
				t.Fatalf("the 1.1.0 client sees the new agent's network as %+v", got)
			}
			wantNetworks(t, newAgent, "t1", 2) // the old agent's and its own
		})
	}
}
