package agent_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

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

// The 1.2.0 model of the tables an agent of that version wrote: the columns
// that schema had (1.3.0 added Attachment.admin_state, Network.free_ports,
// Chassis.networks and the Host table). As its generated model did, it
// monitors everything and writes only these columns.
type network120 struct {
	UUID            string `ovsdb:"_uuid"`
	TenantID        string `ovsdb:"tenant_id"`
	Name            string `ovsdb:"name"`
	NetworkType     string `ovsdb:"network_type"`
	PhysicalNetwork string `ovsdb:"physical_network"`
	SegmentationID  int    `ovsdb:"segmentation_id"`
	SegmentKey      string `ovsdb:"segment_key"`
	CreatedAt       int    `ovsdb:"created_at"`
}

type port120 struct {
	UUID       string `ovsdb:"_uuid"`
	Network    string `ovsdb:"network"`
	TenantID   string `ovsdb:"tenant_id"`
	AdminState string `ovsdb:"admin_state"`
	CreatedAt  int    `ovsdb:"created_at"`
}

type attachment120 struct {
	UUID        string `ovsdb:"_uuid"`
	InterfaceID string `ovsdb:"interface_id"`
	Port        string `ovsdb:"port"`
	Network     string `ovsdb:"network"`
	Host        string `ovsdb:"host"`
	Device      string `ovsdb:"device"`
	Status      string `ovsdb:"status"`
	CreatedAt   int    `ovsdb:"created_at"`
}

func schema120Model(t *testing.T) model.ClientDBModel {
	t.Helper()
	m, err := model.NewClientDBModel("Quantum", map[string]model.Model{
		qdb.NetworkTable: &network120{}, qdb.PortTable: &port120{}, qdb.AttachmentTable: &attachment120{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// old120 is a client of an agent built for schema 1.2.0.
type old120 struct {
	t *testing.T
	c client.Client
}

func connect120(t *testing.T, endpoint string) old120 {
	t.Helper()
	// A conversion drops every connection: the old agent reconnects, as it
	// did (WithReconnect).
	c, err := client.NewOVSDBClient(schema120Model(t), client.WithEndpoint(endpoint),
		client.WithReconnect(time.Second, backoff.NewConstantBackOff(100*time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx(t)); err != nil {
		t.Fatalf("a 1.2.0 client connecting: %v", err)
	}
	t.Cleanup(c.Close)
	if _, err := c.MonitorAll(ctx(t)); err != nil {
		t.Fatalf("a 1.2.0 client monitoring: %v", err)
	}
	return old120{t: t, c: c}
}

func (o old120) transact(what string, ops []ovsdb.Operation, err error) {
	o.t.Helper()
	if err != nil {
		o.t.Fatalf("%s: %v", what, err)
	}
	testutil.Eventually(o.t, "the 1.2.0 client to be connected", 10*time.Second, o.c.Connected)
	res, err := o.c.Transact(ctx(o.t), ops...)
	if err == nil {
		_, err = ovsdb.CheckOperationResults(res, ops)
	}
	if err != nil {
		o.t.Fatalf("%s by a 1.2.0 client: %v", what, err)
	}
}

// network writes a local network as a 1.2.0 agent does.
func (o old120) network(netID string) {
	o.t.Helper()
	net := &network120{UUID: netID, TenantID: "t", Name: "old", NetworkType: agent.NetworkTypeLocal, SegmentKey: "local:" + netID}
	ops, err := o.c.Create(net)
	o.transact("a network", ops, err)
}

// plug writes an ACTIVE port and an attachment of host as a 1.2.0 agent
// does, and returns the port's id.
func (o old120) plug(netID, iface, host string) string {
	o.t.Helper()
	portID := uuid.NewString()
	o.transact("a port", mustCreate(o.t, o.c, &port120{UUID: portID, Network: netID, TenantID: "t", AdminState: agent.PortActive}), nil)
	att := &attachment120{UUID: "att", InterfaceID: iface, Port: portID, Network: netID, Host: host, Device: "tap-" + iface, Status: agent.StatusProvisioning}
	ops, err := o.c.Create(att)
	o.transact("a plug", ops, err)
	return portID
}

func mustCreate(t testing.TB, c client.Client, m model.Model) []ovsdb.Operation {
	t.Helper()
	ops, err := c.Create(m)
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

// TestSchema120To130: a Quantum DB of schema 1.2.0 with data refuses a new
// agent with the versions and the command to convert; converted online
// (ovsdb-client convert, as quantum-ovsdb.service does for a cluster), it
// keeps its rows, the new agent wires the attachments the old agents made
// (admin state read from their ports and copied onto them), and a 1.2.0
// client keeps working beside it: its plugs are wired, and an admin state
// change it makes (on the port only) reaches the wire at the next resync.
func TestSchema120To130(t *testing.T) {
	testbed.RequireRoot(t)
	dir := testutil.ShortDir(t)
	testbed.Run(t, nil, "ovsdb-tool", "create", filepath.Join(dir, "quantum.db"), "testdata/quantum-1.2.0.ovsschema")
	srv := testbed.StartQuantumDBAt(t, dir)
	old := connect120(t, srv.Endpoint)
	netID := uuid.NewString()
	old.network(netID)
	port1 := old.plug(netID, "vif-old-1", "hv-new")

	cfg := agenttest.DefaultConfig()
	cfg.Host = "hv-new"
	short, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	_, err := agent.OpenStore(short, agent.StoreConfig{Endpoints: []string{srv.Endpoint}, Host: cfg.Host}, agenttest.Logger(t))
	cancel()
	if err == nil || !strings.Contains(err.Error(), "schema 1.2.0") || !strings.Contains(err.Error(), "needs 1.3.0") ||
		!strings.Contains(err.Error(), "ovsdb-client convert") {
		t.Fatalf("a new agent on a 1.2.0 Quantum DB: %v; want the versions and the command to convert", err)
	}

	testbed.Run(t, nil, "ovsdb-client", "convert", srv.Endpoint, filepath.Join(testbed.ModuleRoot(t), testbed.QuantumSchema))
	a := agenttest.NewAt(t, srv.Endpoint, cfg)
	dp := agenttest.NewDatapath(agent.StatusUp)
	rec := agent.NewReconciler(a.Store(), dp, cfg.Host, 200*time.Millisecond, nil, agenttest.Logger(t))
	c, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = rec.Run(c); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	testutil.Eventually(t, "the new agent to wire the old agent's attachment, ACTIVE", 10*time.Second, func() bool {
		return dp.Wired()["vif-old-1"].AdminUp
	})
	if p, err := a.GetPort(ctx(t), "t", netID, port1); err != nil || p.Attachment == nil || p.Attachment.ID != "vif-old-1" {
		t.Fatalf("the converted port as the new agent reads it: %+v, %v", p, err)
	}
	// The old client still writes: a plug, wired; an admin state change on
	// the port alone, which the next resync carries to the wire.
	port2 := old.plug(netID, "vif-old-2", "hv-new")
	testutil.Eventually(t, "the new agent to wire the old client's new plug", 10*time.Second, func() bool {
		return dp.Wired()["vif-old-2"].AdminUp
	})
	p2 := &port120{UUID: port2, AdminState: agent.PortDown}
	ops, err := old.c.Where(p2).Update(p2, &p2.AdminState)
	old.transact("an admin state change", ops, err)
	testutil.Eventually(t, "the admin state change of a 1.2.0 client to reach the wire", 10*time.Second, func() bool {
		return !dp.Wired()["vif-old-2"].AdminUp
	})
	// And the new agent's own writes reach the old client.
	n := mustNetwork(t, a, "t", "new")
	testutil.Eventually(t, "the 1.2.0 client's cache to get the new agent's network", 10*time.Second, func() bool {
		return old.c.Get(ctx(t), &network120{UUID: n.ID}) == nil
	})
}
