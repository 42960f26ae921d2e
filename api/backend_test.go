package api

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
)

// newBackend is the one place tests get a Backend from: the real agent on a
// real (libovsdb in-process) Quantum DB, with its real reconciler driving a
// datapath whose observed states the test sets. So every API test runs the
// store's semantics, not a stand-in's.
func newBackend(t testing.TB) Backend {
	t.Helper()
	a := agenttest.New(t, agenttest.DefaultConfig())
	dp := &settableDatapath{status: map[string]string{}, changes: make(chan struct{}, 1)}
	rec := agent.NewReconciler(a.Store(), dp, agenttest.DefaultConfig().Host, time.Hour, agenttest.Logger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = rec.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &testBackend{Agent: a, dp: dp}
}

// testBackend is the agent plus a way to say what the datapath observes.
type testBackend struct {
	*agent.Agent
	dp *settableDatapath
}

// SetAttachmentStatus makes the datapath report status for the attachment;
// the reconciler then writes it to the DB, as it would after wiring.
func (b *testBackend) SetAttachmentStatus(attID, status string) { b.dp.set(attID, status) }

// settableDatapath reports PROVISIONING for every port unless told otherwise.
type settableDatapath struct {
	mu      sync.Mutex
	status  map[string]string
	changes chan struct{}
}

func (d *settableDatapath) set(attID, status string) {
	d.mu.Lock()
	d.status[attID] = status
	d.mu.Unlock()
	select {
	case d.changes <- struct{}{}:
	default:
	}
}

func (d *settableDatapath) Start(context.Context) error { return nil }
func (d *settableDatapath) Changes() <-chan struct{}    { return d.changes }
func (d *settableDatapath) Ready() error                { return nil }
func (d *settableDatapath) Close() error                { return nil }

func (d *settableDatapath) Sync(_ context.Context, desired []agent.WiredPort) ([]agent.PortState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]agent.PortState, 0, len(desired))
	for _, p := range desired {
		st := d.status[p.AttachmentID]
		if st == "" {
			st = agent.StatusProvisioning
		}
		out = append(out, agent.PortState{AttachmentID: p.AttachmentID, Status: st})
	}
	return out, nil
}

// TestProviderSegmentInUse: the Quantum DB's unique index on the segment
// is what refuses a second network on one VLAN, seen through the API.
func TestProviderSegmentInUse(t *testing.T) {
	h := testHandler(t, newBackend(t))
	body := `{"network":{"name":"p","network-type":"vlan","physical-network":"physnet1","segmentation-id":150}}`
	expect(t, do(t, h, "POST", "/v1.1/tenants/t/networks", body), 202)
	r := expect(t, do(t, h, "POST", "/v1.1/tenants/other/networks", body), 409)
	eq(t, "fault type", r.str("QuantumError.type"), "Conflict")
}
