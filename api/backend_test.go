package api

import (
	"testing"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
)

// newBackend is the one place tests get an agent.Service from: the real agent on a
// real (libovsdb in-process) Quantum DB, with its real reconciler driving a
// datapath whose observed states the test sets. So every API test runs the
// store's semantics, not a stand-in's.
func newBackend(t testing.TB) agent.Service {
	t.Helper()
	a := agenttest.New(t, agenttest.DefaultConfig())
	dp := agenttest.NewDatapath(agent.StatusProvisioning)
	agenttest.StartReconciler(t, a, dp, agenttest.DefaultConfig().Host)
	return &testBackend{Agent: a, dp: dp}
}

// testBackend is the agent plus a way to say what the datapath observes.
type testBackend struct {
	*agent.Agent
	dp *agenttest.Datapath
}

// SetAttachmentStatus makes the datapath report status for the attachment;
// the reconciler then writes it to the DB, as it would after wiring.
func (b *testBackend) SetAttachmentStatus(attID, status string) { b.dp.SetStatus(attID, status) }

// TestProviderSegmentInUse: the Quantum DB's unique index on the segment
// is what refuses a second network on one VLAN, seen through the API.
func TestProviderSegmentInUse(t *testing.T) {
	h := testHandler(t, newBackend(t))
	body := `{"network":{"name":"p","network-type":"vlan","physical-network":"physnet1","segmentation-id":150}}`
	expect(t, do(t, h, "POST", "/v1.1/tenants/t/networks", body), 202)
	r := expect(t, do(t, h, "POST", "/v1.1/tenants/other/networks", body), 409)
	eq(t, "fault type", r.str("QuantumError.type"), "Conflict")
}
