package agent_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
)

// TestAnyMemberSpreadsAndReadsItsWrites: agents given every member of a
// 3-member Raft cluster with leader-only off start at a member chosen by
// their host name, stay there (followers included), and still read their
// own writes at once: the followers forward the writes to the leader, and
// the barrier waits until the member they talk to has applied them.
func TestAnyMemberSpreadsAndReadsItsWrites(t *testing.T) {
	testbed.RequireRoot(t)
	cluster := testbed.StartQuantumCluster(t, 3)
	endpoints := strings.Split(cluster.Endpoints(), ",")
	used := map[string]bool{}
	for i := range 6 {
		cfg := agenttest.DefaultConfig()
		cfg.Host = fmt.Sprintf("hv-%d", i)
		c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		store, err := agent.OpenStore(c, agent.StoreConfig{Endpoints: endpoints, Host: cfg.Host, AnyMember: true}, agenttest.Logger(t))
		cancel()
		if err != nil {
			t.Fatalf("%s: open store: %v", cfg.Host, err)
		}
		t.Cleanup(store.Close)
		used[store.CurrentEndpoint()] = true
		a := agent.New(store, cfg, agenttest.Logger(t))
		n := mustNetwork(t, a, "t", "net-"+cfg.Host)
		p := mustPort(t, a, "t", n.ID, agent.PortActive)
		if err := a.Plug(ctx(t), "t", n.ID, p.ID, agent.AttachmentSpec{ID: "vif-" + cfg.Host}); err != nil {
			t.Fatalf("%s on %s: plug: %v", cfg.Host, store.CurrentEndpoint(), err)
		}
		got, err := a.GetPort(ctx(t), "t", n.ID, p.ID)
		if err != nil || got.Attachment == nil || got.Attachment.ID != "vif-"+cfg.Host {
			t.Errorf("%s on %s: the port right after the plug = %+v, %v", cfg.Host, store.CurrentEndpoint(), got, err)
		}
	}
	if len(used) < 2 {
		t.Errorf("6 agents all on %v; want them spread over the members", used)
	}
}
