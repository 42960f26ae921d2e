package agent_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// onEachQuantumDB runs test on an agent over libovsdb's in-process server
// and, as root, over a real ovsdb-server: the Idempotency table's unique
// index and the client-chosen row ids must hold on both.
func onEachQuantumDB(t *testing.T, test func(t *testing.T, a *agent.Agent)) {
	t.Run("in-process", func(t *testing.T) { test(t, agenttest.New(t, agenttest.DefaultConfig())) })
	t.Run("ovsdb-server", func(t *testing.T) {
		testbed.RequireRoot(t)
		test(t, agenttest.NewAt(t, testbed.StartQuantumDB(t), agenttest.DefaultConfig()))
	})
}

func withKey(t *testing.T, key string) context.Context {
	return agent.WithIdempotencyKey(ctx(t), key)
}

// wantNetworks checks the tenant has n networks.
func wantNetworks(t *testing.T, a *agent.Agent, tenant string, n int) {
	t.Helper()
	if nets, err := a.ListNetworks(ctx(t), tenant, false); err != nil || len(nets) != n {
		t.Errorf("tenant %s has %d networks (%v), want %d", tenant, len(nets), err, n)
	}
}

// wantPorts checks the network has n ports.
func wantPorts(t *testing.T, a *agent.Agent, tenant, netID string, n int) {
	t.Helper()
	if ports, err := a.ListPorts(ctx(t), tenant, netID); err != nil || len(ports) != n {
		t.Errorf("network %s has %d ports (%v), want %d", netID, len(ports), err, n)
	}
}

func TestIdempotentCreateNetwork(t *testing.T) {
	onEachQuantumDB(t, func(t *testing.T, a *agent.Agent) {
		spec := agent.NetworkSpec{Name: "net1"}
		first, err := a.CreateNetwork(withKey(t, "k1"), "t1", spec)
		if err != nil {
			t.Fatal(err)
		}
		again, err := a.CreateNetwork(withKey(t, "k1"), "t1", spec)
		if err != nil || again.ID != first.ID {
			t.Fatalf("retry = %q, %v; want the first id %q", again.ID, err, first.ID)
		}
		wantNetworks(t, a, "t1", 1)
		// The answer is readable at once, as after any create.
		if _, err := a.GetNetwork(ctx(t), "t1", again.ID, false); err != nil {
			t.Fatal(err)
		}
	})
}

func TestIdempotentCreatePort(t *testing.T) {
	onEachQuantumDB(t, func(t *testing.T, a *agent.Agent) {
		n := mustNetwork(t, a, "t1", "net1")
		first, err := a.CreatePort(withKey(t, "k1"), "t1", n.ID, "ACTIVE")
		if err != nil {
			t.Fatal(err)
		}
		// "active" means ACTIVE: the same request.
		again, err := a.CreatePort(withKey(t, "k1"), "t1", n.ID, "active")
		if err != nil || again.ID != first.ID || again.State != agent.PortActive {
			t.Fatalf("retry = %+v, %v; want the first port %q", again, err, first.ID)
		}
		wantPorts(t, a, "t1", n.ID, 1)
	})
}

func TestIdempotentPlug(t *testing.T) {
	onEachQuantumDB(t, func(t *testing.T, a *agent.Agent) {
		n := mustNetwork(t, a, "t1", "net1")
		p := mustPort(t, a, "t1", n.ID, "ACTIVE")
		spec := agent.AttachmentSpec{ID: "vif-1", MAC: "fa:16:3e:00:00:01"}
		if err := a.Plug(withKey(t, "k1"), "t1", n.ID, p.ID, spec); err != nil {
			t.Fatal(err)
		}
		// Without the key the same plug is alreadyAttached; with it, the
		// key is looked at first and the retry succeeds as the first did.
		if err := a.Plug(ctx(t), "t1", n.ID, p.ID, spec); !errors.Is(err, agent.ErrAlreadyAttached) {
			t.Fatalf("plug again without a key: %v, want already attached", err)
		}
		if err := a.Plug(withKey(t, "k1"), "t1", n.ID, p.ID, spec); err != nil {
			t.Fatalf("retry of a plug: %v", err)
		}
		atts, err := a.ListAttachments(ctx(t), "t1", n.ID)
		if err != nil || len(atts) != 1 {
			t.Fatalf("attachments after a retry = %+v, %v; want one", atts, err)
		}
	})
}

func TestIdempotentPlugIntoNetwork(t *testing.T) {
	onEachQuantumDB(t, func(t *testing.T, a *agent.Agent) {
		n := mustNetwork(t, a, "t1", "net1")
		spec := agent.AttachmentSpec{ID: "vif-1"}
		first, err := a.PlugIntoNetwork(withKey(t, "k1"), "t1", n.ID, spec)
		if err != nil {
			t.Fatal(err)
		}
		again, err := a.PlugIntoNetwork(withKey(t, "k1"), "t1", n.ID, spec)
		if err != nil || again.ID != first.ID {
			t.Fatalf("retry = %+v, %v; want the first port %q", again, err, first.ID)
		}
		if again.Attachment == nil || again.Attachment.ID != "vif-1" {
			t.Fatalf("retry's port shows attachment %+v, want vif-1", again.Attachment)
		}
		wantPorts(t, a, "t1", n.ID, 1)
	})
}

// TestIdempotencyKeyReusedForAnotherRequest: a key names one request; used
// with another body, route or URL it is refused, and nothing is done.
func TestIdempotencyKeyReusedForAnotherRequest(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	n, err := a.CreateNetwork(withKey(t, "k1"), "t1", agent.NetworkSpec{Name: "net1"})
	if err != nil {
		t.Fatal(err)
	}
	p := mustPort(t, a, "t1", n.ID, "ACTIVE")
	if err := a.Plug(withKey(t, "k2"), "t1", n.ID, p.ID, agent.AttachmentSpec{ID: "vif-1"}); err != nil {
		t.Fatal(err)
	}
	reuses := map[string]error{}
	_, reuses["network, another name"] = a.CreateNetwork(withKey(t, "k1"), "t1", agent.NetworkSpec{Name: "net2"})
	_, reuses["port under a network's key"] = a.CreatePort(withKey(t, "k1"), "t1", n.ID, "")
	reuses["plug, another attachment"] = a.Plug(withKey(t, "k2"), "t1", n.ID, p.ID, agent.AttachmentSpec{ID: "vif-2"})
	reuses["plug, another device"] = a.Plug(withKey(t, "k2"), "t1", n.ID, p.ID, agent.AttachmentSpec{ID: "vif-1", Device: "tapother"})
	_, reuses["plug into network under a plug's key"] = a.PlugIntoNetwork(withKey(t, "k2"), "t1", n.ID, agent.AttachmentSpec{ID: "vif-1"})
	for name, err := range reuses {
		if !errors.Is(err, agent.ErrIdempotencyMismatch) {
			t.Errorf("%s: %v, want idempotency key mismatch", name, err)
		}
	}
	wantNetworks(t, a, "t1", 1)
	wantPorts(t, a, "t1", n.ID, 1)
}

// TestIdempotencyKeysPerTenant: keys are the client's, scoped to its
// tenant; another tenant's same key is another request.
func TestIdempotencyKeysPerTenant(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	spec := agent.NetworkSpec{Name: "net1"}
	n1, err := a.CreateNetwork(withKey(t, "same"), "t1", spec)
	if err != nil {
		t.Fatal(err)
	}
	n2, err := a.CreateNetwork(withKey(t, "same"), "t2", spec)
	if err != nil {
		t.Fatal(err)
	}
	if n1.ID == n2.ID {
		t.Fatalf("tenants t1 and t2 both got network %q", n1.ID)
	}
	wantNetworks(t, a, "t1", 1)
	wantNetworks(t, a, "t2", 1)
}

func TestNoIdempotencyKeyCreatesAgain(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	n1 := mustNetwork(t, a, "t1", "net1")
	n2 := mustNetwork(t, a, "t1", "net1")
	if n1.ID == n2.ID {
		t.Fatalf("two creates without a key both gave %q", n1.ID)
	}
	wantNetworks(t, a, "t1", 2)
}

func TestIdempotencyKeyMalformed(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	for _, key := range []string{"has space", "nul\x00", "é", string(make([]byte, 256))} {
		if _, err := a.CreateNetwork(withKey(t, key), "t1", agent.NetworkSpec{Name: "n"}); !errors.Is(err, agent.ErrMalformed) {
			t.Errorf("key %q: %v, want malformed", key, err)
		}
	}
	wantNetworks(t, a, "t1", 0)
}

// TestConcurrentSameKey: ten attempts at once under one key (a client
// retrying while its first attempt is still running) make one row, and all
// answer its id: the losers learn it from the DB after the index refused them.
func TestConcurrentSameKey(t *testing.T) {
	onEachQuantumDB(t, func(t *testing.T, a *agent.Agent) {
		n := mustNetwork(t, a, "t0", "base")
		ops := map[string]func(ctx context.Context) (string, error){
			"create network": func(ctx context.Context) (string, error) {
				n, err := a.CreateNetwork(ctx, "t1", agent.NetworkSpec{Name: "net1"})
				return n.ID, err
			},
			"create port": func(ctx context.Context) (string, error) {
				p, err := a.CreatePort(ctx, "t0", n.ID, "")
				return p.ID, err
			},
			"plug into network": func(ctx context.Context) (string, error) {
				p, err := a.PlugIntoNetwork(ctx, "t0", n.ID, agent.AttachmentSpec{ID: "vif-c"})
				return p.ID, err
			},
		}
		for name, op := range ops {
			ids := make([]string, 10)
			errs := make([]error, 10)
			var wg sync.WaitGroup
			for i := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ids[i], errs[i] = op(withKey(t, "key-"+strings.ReplaceAll(name, " ", "-")))
				}()
			}
			wg.Wait()
			for i := range ids {
				if errs[i] != nil || ids[i] != ids[0] {
					t.Errorf("%s, attempt %d: %q, %v; want %q like attempt 0", name, i, ids[i], errs[i], ids[0])
				}
			}
		}
		wantNetworks(t, a, "t1", 1)
		// One port from create port, one from plug into network.
		wantPorts(t, a, "t0", n.ID, 2)
	})
}

func TestSweepIdempotencyKeys(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	spec := agent.NetworkSpec{Name: "net1"}
	first, err := a.CreateNetwork(withKey(t, "k1"), "t1", spec)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := a.Store().SweepIdempotencyKeys(ctx(t), agent.IdempotencyKeyLifetime); err != nil || n != 0 {
		t.Fatalf("sweep of a fresh key: %d, %v; want 0 deleted", n, err)
	}
	if again, err := a.CreateNetwork(withKey(t, "k1"), "t1", spec); err != nil || again.ID != first.ID {
		t.Fatalf("retry after a sweep that kept the key = %q, %v", again.ID, err)
	}
	// olderThan 0: every record made before now has expired.
	if n, err := a.Store().SweepIdempotencyKeys(ctx(t), 0); err != nil || n != 1 {
		t.Fatalf("sweep of every key: %d, %v; want 1 deleted", n, err)
	}
	later, err := a.CreateNetwork(withKey(t, "k1"), "t1", spec)
	if err != nil || later.ID == first.ID {
		t.Fatalf("create under an expired key = %q, %v; want a new network", later.ID, err)
	}
}

// TestRetryLearnsFromTheDB: an attempt that missed the key in the cache,
// while another attempt under it committed, is refused by the DB (the key's
// index, or for a plug its own alreadyAttached, looked at first) and then
// answers the committed attempt's outcome, read from the DB.
func TestRetryLearnsFromTheDB(t *testing.T) {
	onEachQuantumDB(t, func(t *testing.T, a *agent.Agent) {
		spec := agent.NetworkSpec{Name: "net1"}
		var winner agent.Network
		got, err := agent.CreateNetworkInterleaved(a, withKey(t, "k1"), "t1", spec, func() {
			winner, _ = a.CreateNetwork(withKey(t, "k1"), "t1", spec)
		})
		if err != nil || winner.ID == "" || got.ID != winner.ID {
			t.Fatalf("create = %q, %v; want the committed attempt's %q", got.ID, err, winner.ID)
		}
		wantNetworks(t, a, "t1", 1)

		p := mustPort(t, a, "t1", winner.ID, "ACTIVE")
		plug := agent.AttachmentSpec{ID: "vif-1"}
		err = agent.PlugInterleaved(a, withKey(t, "k2"), "t1", winner.ID, p.ID, plug, func() {
			if err := a.Plug(withKey(t, "k2"), "t1", winner.ID, p.ID, plug); err != nil {
				t.Errorf("the committing plug: %v", err)
			}
		})
		if err != nil {
			t.Fatalf("plug after the same plug committed under its key: %v, want success", err)
		}
		// Another request under that key is refused, the same way.
		other := agent.AttachmentSpec{ID: "vif-2"}
		err = agent.PlugInterleaved(a, withKey(t, "k2"), "t1", winner.ID, p.ID, other, func() {})
		if !errors.Is(err, agent.ErrIdempotencyMismatch) {
			t.Fatalf("another plug under a used key: %v, want mismatch", err)
		}
	})
}

// TestRetryAfterStalledDB is the case the key exists for: the Quantum DB
// stalls (SIGSTOP), the create answers serviceUnavailable at its deadline,
// the DB resumes and commits it; the retry with the same key answers that
// network instead of making a second one.
func TestRetryAfterStalledDB(t *testing.T) {
	testbed.RequireRoot(t)
	db := testbed.StartQuantumDBAt(t, testutil.ShortDir(t))
	a := agenttest.NewAt(t, db.Endpoint, agenttest.DefaultConfig())
	pidText, err := os.ReadFile(filepath.Join(db.Dir, "db.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		t.Fatal(err)
	}
	// SIGCONT to a running process does nothing: the cleanup may repeat it.
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}

	spec := agent.NetworkSpec{Name: "net1"}
	stalled, cancel := context.WithTimeout(withKey(t, "k1"), time.Second)
	defer cancel()
	if _, err := a.CreateNetwork(stalled, "t1", spec); !errors.Is(err, agent.ErrUnavailable) {
		t.Fatalf("create with the DB stopped: %v, want unavailable", err)
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// The stalled create commits once the DB runs again.
	testutil.Eventually(t, "the create sent to the stopped DB to commit", 20*time.Second, func() bool {
		nets, _ := a.ListNetworks(ctx(t), "t1", false)
		return len(nets) > 0
	})
	n, err := a.CreateNetwork(withKey(t, "k1"), "t1", spec)
	if err != nil {
		t.Fatalf("retry after the DB resumed: %v", err)
	}
	nets, err := a.ListNetworks(ctx(t), "t1", false)
	if err != nil || len(nets) != 1 || nets[0].ID != n.ID {
		t.Fatalf("networks after the retry = %+v, %v; want only %s", nets, err, n.ID)
	}
}
