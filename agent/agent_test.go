package agent_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustNetwork(t *testing.T, a *agent.Agent, tenant, name string) agent.Network {
	t.Helper()
	n, err := a.CreateNetwork(ctx(t), tenant, agent.NetworkSpec{Name: name})
	if err != nil {
		t.Fatalf("create network %s: %v", name, err)
	}
	return n
}

func mustPort(t *testing.T, a *agent.Agent, tenant, netID, state string) agent.Port {
	t.Helper()
	p, err := a.CreatePort(ctx(t), tenant, netID, state)
	if err != nil {
		t.Fatalf("create port: %v", err)
	}
	return p
}

func TestNetworkLifecycle(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	n := mustNetwork(t, a, "t1", "net1")
	if n.Segment.Type != agent.NetworkTypeVLAN || n.Segment.SegmentationID != 100 || n.Segment.PhysicalNetwork != "physnet1" {
		t.Fatalf("allocated segment = %+v, want vlan 100 on physnet1", n.Segment)
	}
	got, err := a.GetNetwork(ctx(t), "t1", n.ID, true)
	if err != nil || got.Name != "net1" || len(got.Ports) != 0 {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if err := a.RenameNetwork(ctx(t), "t1", n.ID, "renamed"); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.GetNetwork(ctx(t), "t1", n.ID, false); got.Name != "renamed" {
		t.Fatalf("name after rename = %q", got.Name)
	}
	mustPort(t, a, "t1", n.ID, "")
	if err := a.DeleteNetwork(ctx(t), "t1", n.ID); err != nil {
		t.Fatalf("delete network with a free port: %v", err)
	}
	if _, err := a.GetNetwork(ctx(t), "t1", n.ID, false); !errors.Is(err, agent.ErrNetworkNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

func TestTenantIsolation(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	n := mustNetwork(t, a, "t1", "net1")
	p := mustPort(t, a, "t1", n.ID, "ACTIVE")
	checks := map[string]error{}
	_, checks["get"] = a.GetNetwork(ctx(t), "t2", n.ID, false)
	checks["rename"] = a.RenameNetwork(ctx(t), "t2", n.ID, "x")
	checks["delete"] = a.DeleteNetwork(ctx(t), "t2", n.ID)
	_, checks["ports"] = a.ListPorts(ctx(t), "t2", n.ID)
	_, checks["port"] = a.GetPort(ctx(t), "t2", n.ID, p.ID)
	_, checks["create port"] = a.CreatePort(ctx(t), "t2", n.ID, "")
	checks["plug"] = a.Plug(ctx(t), "t2", n.ID, p.ID, agent.AttachmentSpec{ID: "vif-1"})
	checks["unplug"] = a.Unplug(ctx(t), "t2", n.ID, p.ID)
	_, checks["attachments"] = a.ListAttachments(ctx(t), "t2", n.ID)
	for name, err := range checks {
		if !errors.Is(err, agent.ErrNetworkNotFound) {
			t.Errorf("%s as another tenant: %v, want network not found", name, err)
		}
	}
	if nets, err := a.ListNetworks(ctx(t), "t2", true); err != nil || len(nets) != 0 {
		t.Errorf("other tenant lists %v, %v", nets, err)
	}
}

func TestPlugOrderRules(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	n := mustNetwork(t, a, "t", "net")
	p1 := mustPort(t, a, "t", n.ID, "ACTIVE")
	p2 := mustPort(t, a, "t", n.ID, "ACTIVE")
	spec := agent.AttachmentSpec{ID: "vif-1", Device: "tapvif1"}
	if err := a.Plug(ctx(t), "t", n.ID, p1.ID, spec); err != nil {
		t.Fatal(err)
	}
	if err := a.Plug(ctx(t), "t", n.ID, p1.ID, spec); !errors.Is(err, agent.ErrAlreadyAttached) {
		t.Errorf("same id, same port: %v, want already attached", err)
	}
	if err := a.Plug(ctx(t), "t", n.ID, p2.ID, spec); !errors.Is(err, agent.ErrAlreadyAttached) {
		t.Errorf("same id, other port: %v, want already attached", err)
	}
	if err := a.Plug(ctx(t), "t", n.ID, p1.ID, agent.AttachmentSpec{ID: "vif-2"}); !errors.Is(err, agent.ErrPortInUse) {
		t.Errorf("other id, busy port: %v, want port in use", err)
	}
	if err := a.DeletePort(ctx(t), "t", n.ID, p1.ID); !errors.Is(err, agent.ErrPortInUse) {
		t.Errorf("delete attached port: %v, want port in use", err)
	}
	if err := a.DeleteNetwork(ctx(t), "t", n.ID); !errors.Is(err, agent.ErrNetworkInUse) {
		t.Errorf("delete network with attachment: %v, want network in use", err)
	}
	att, err := a.GetAttachment(ctx(t), "t", n.ID, p1.ID)
	if err != nil || att == nil || att.ID != "vif-1" || att.Device != "tapvif1" || att.Host != "hv-test" || att.Status != agent.StatusProvisioning {
		t.Fatalf("attachment = %+v, %v", att, err)
	}
	if err := a.Unplug(ctx(t), "t", n.ID, p1.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.Unplug(ctx(t), "t", n.ID, p1.ID); err != nil {
		t.Errorf("unplug of an empty port must be a no-op: %v", err)
	}
	if att, err := a.GetAttachment(ctx(t), "t", n.ID, p1.ID); att != nil || err != nil {
		t.Errorf("after unplug: %+v, %v", att, err)
	}
	if err := a.Plug(ctx(t), "t", n.ID, p2.ID, spec); err != nil {
		t.Errorf("replug elsewhere after unplug: %v", err)
	}
}

func TestConcurrentPlugOneWinner(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	n := mustNetwork(t, a, "t", "net")
	const workers = 100
	ports := make([]agent.Port, workers)
	for i := range ports {
		ports[i] = mustPort(t, a, "t", n.ID, "ACTIVE")
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = a.Plug(ctx(t), "t", n.ID, ports[i].ID, agent.AttachmentSpec{ID: "vif-contended"})
		}()
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, agent.ErrAlreadyAttached):
			t.Errorf("worker %d: %v, want success or already attached", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d plugs of one interface id succeeded, want exactly 1", wins)
	}
	atts, _ := a.ListAttachments(ctx(t), "t", n.ID)
	if len(atts) != 1 {
		t.Fatalf("%d attachments stored, want 1", len(atts))
	}
}

func TestParallelCreatesGetDistinctVLANs(t *testing.T) {
	endpoint := agenttest.StartServer(t)
	// Two agents sharing one DB, as on a cluster: allocation must be race-free
	// between them, not only inside one.
	agents := []*agent.Agent{agenttest.NewAt(t, endpoint, agenttest.DefaultConfig()), agenttest.NewAt(t, endpoint, agenttest.DefaultConfig())}
	const n = 40
	var wg sync.WaitGroup
	nets := make([]agent.Network, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nets[i], errs[i] = agents[i%2].CreateNetwork(ctx(t), "t", agent.NetworkSpec{Name: fmt.Sprint("n", i)})
		}()
	}
	wg.Wait()
	seen := map[int]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("create %d: %v", i, errs[i])
		}
		v := nets[i].Segment.SegmentationID
		if seen[v] || v < 100 || v > 199 {
			t.Fatalf("VLAN %d allocated twice or out of range", v)
		}
		seen[v] = true
	}
}

func TestVLANPoolExhausted(t *testing.T) {
	cfg := agenttest.DefaultConfig()
	cfg.VLANRanges = []agent.VLANRange{{PhysicalNetwork: "physnet1", Min: 10, Max: 11}}
	a := agenttest.New(t, cfg)
	mustNetwork(t, a, "t", "a")
	mustNetwork(t, a, "t", "b")
	if _, err := a.CreateNetwork(ctx(t), "t", agent.NetworkSpec{Name: "c"}); !errors.Is(err, agent.ErrOverLimit) {
		t.Fatalf("third network on a 2-VLAN pool: %v, want over limit", err)
	}
	nets, _ := a.ListNetworks(ctx(t), "t", false)
	if len(nets) != 2 {
		t.Fatalf("failed create left %d networks, want 2", len(nets))
	}
}

func TestProviderSegments(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	seg := agent.Segment{Type: agent.NetworkTypeVLAN, PhysicalNetwork: "physnet1", SegmentationID: 1000}
	if _, err := a.CreateNetwork(ctx(t), "t", agent.NetworkSpec{Name: "p", Segment: seg}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateNetwork(ctx(t), "t2", agent.NetworkSpec{Name: "q", Segment: seg}); !errors.Is(err, agent.ErrConflict) {
		t.Fatalf("same segment twice: %v, want conflict", err)
	}
	for _, bad := range []agent.Segment{
		{Type: "vlan", PhysicalNetwork: "physnet1", SegmentationID: 4095},
		{Type: "vlan", PhysicalNetwork: "nope", SegmentationID: 5},
		{Type: "flat"},
		{Type: "gre", SegmentationID: 5},
		{PhysicalNetwork: "physnet1"},
	} {
		if _, err := a.CreateNetwork(ctx(t), "t", agent.NetworkSpec{Name: "x", Segment: bad}); !errors.Is(err, agent.ErrMalformed) {
			t.Errorf("segment %+v: %v, want malformed", bad, err)
		}
	}
	for range 2 {
		if _, err := a.CreateNetwork(ctx(t), "t", agent.NetworkSpec{Name: "l", Segment: agent.Segment{Type: "local"}}); err != nil {
			t.Errorf("local networks must not clash: %v", err)
		}
	}
}

func TestPlugIntoNetwork(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	n := mustNetwork(t, a, "t", "net")
	down := mustPort(t, a, "t", n.ID, "DOWN")
	free := mustPort(t, a, "t", n.ID, "ACTIVE")
	p, err := a.PlugIntoNetwork(ctx(t), "t", n.ID, agent.AttachmentSpec{ID: "vif-a"})
	if err != nil || p.ID != free.ID {
		t.Fatalf("plug into network = %+v, %v; want the free ACTIVE port %s", p, err, free.ID)
	}
	p2, err := a.PlugIntoNetwork(ctx(t), "t", n.ID, agent.AttachmentSpec{ID: "vif-b"})
	if err != nil || p2.ID == free.ID || p2.ID == down.ID || p2.State != agent.PortActive {
		t.Fatalf("second plug = %+v, %v; want a new ACTIVE port", p2, err)
	}
	if _, err := a.PlugIntoNetwork(ctx(t), "t", n.ID, agent.AttachmentSpec{ID: "vif-a"}); !errors.Is(err, agent.ErrAlreadyAttached) {
		t.Fatalf("plug of a plugged id: %v", err)
	}
}

func TestValidation(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	n := mustNetwork(t, a, "t", "net")
	p := mustPort(t, a, "t", n.ID, "active")
	if p.State != agent.PortActive {
		t.Errorf("state normalised to %q", p.State)
	}
	if _, err := a.CreatePort(ctx(t), "t", n.ID, "UP"); !errors.Is(err, agent.ErrStateInvalid) {
		t.Errorf("bad state on create: %v", err)
	}
	if err := a.SetPortState(ctx(t), "t", n.ID, p.ID, "bogus"); !errors.Is(err, agent.ErrStateInvalid) {
		t.Errorf("bad state on update: %v", err)
	}
	if err := a.SetPortState(ctx(t), "t", n.ID, "not-a-uuid", "DOWN"); !errors.Is(err, agent.ErrPortNotFound) {
		t.Errorf("unknown port: %v", err)
	}
	for _, spec := range []agent.AttachmentSpec{{ID: ""}, {ID: "x", Device: "a/b"}, {ID: "x", Device: "much-too-long-device"}} {
		if err := a.Plug(ctx(t), "t", n.ID, p.ID, spec); !errors.Is(err, agent.ErrMalformed) {
			t.Errorf("plug %+v: %v, want malformed", spec, err)
		}
	}
	if err := a.Plug(ctx(t), "t", n.ID, p.ID, agent.AttachmentSpec{ID: "0123456789abcdef"}); err != nil {
		t.Fatal(err)
	}
	att, _ := a.GetAttachment(ctx(t), "t", n.ID, p.ID)
	if att.Device != "tap0123456789a" {
		t.Errorf("default device = %q, want Nova's tap+11", att.Device)
	}
}

func TestListsAreScopedAndOrdered(t *testing.T) {
	a := agenttest.New(t, agenttest.DefaultConfig())
	n1 := mustNetwork(t, a, "t", "one")
	n2 := mustNetwork(t, a, "t", "two")
	var want1 []string
	for i := range 5 {
		want1 = append(want1, mustPort(t, a, "t", n1.ID, "ACTIVE").ID)
		mustPort(t, a, "t", n2.ID, "ACTIVE")
		if err := a.Plug(ctx(t), "t", n2.ID, mustPort(t, a, "t", n2.ID, "").ID, agent.AttachmentSpec{ID: fmt.Sprint("vif-", i)}); err != nil {
			t.Fatal(err)
		}
	}
	ports, err := a.ListPorts(ctx(t), "t", n1.ID)
	if err != nil || len(ports) != len(want1) {
		t.Fatalf("ports of network one: %d, %v; want %d", len(ports), err, len(want1))
	}
	for i, p := range ports {
		if p.ID != want1[i] {
			t.Fatalf("port %d = %s, want %s (creation order)", i, p.ID, want1[i])
		}
	}
	if atts, _ := a.ListAttachments(ctx(t), "t", n1.ID); len(atts) != 0 {
		t.Errorf("network one lists %d attachments of network two", len(atts))
	}
	if atts, _ := a.ListAttachments(ctx(t), "t", n2.ID); len(atts) != 5 {
		t.Errorf("network two lists %d attachments, want 5", len(atts))
	}
	nets, _ := a.ListNetworks(ctx(t), "t", false)
	if len(nets) != 2 || nets[0].ID != n1.ID || nets[1].ID != n2.ID {
		t.Errorf("networks not in creation order: %+v", nets)
	}
}
