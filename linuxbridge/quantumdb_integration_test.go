package linuxbridge

import (
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
)

// aliasOf returns the alias of dev in hv's namespace ("" without one).
func aliasOf(t *testing.T, hv *testbed.LBHost, dev string) string {
	t.Helper()
	out := hv.IP("-d", "link", "show", dev)
	_, after, ok := strings.Cut(out, "\n    alias ")
	if !ok {
		return ""
	}
	alias, _, _ := strings.Cut(after, "\n")
	return strings.TrimSpace(alias)
}

func warningsHave(t *testing.T, dp *Datapath, want string) {
	t.Helper()
	if w := strings.Join(dp.Warnings(), "\n"); !strings.Contains(w, want) {
		t.Errorf("warnings = %q, want one saying %q", w, want)
	}
}

// TestIntegrationKeepsLinksOfAnotherQuantumDB: an agent pointed at another
// (say a freshly re-created, empty) Quantum DB must not unplug the VMs the
// first one wired; what the new DB wants it adopts; links of its own DB are
// collected as usual.
func TestIntegrationKeepsLinksOfAnotherQuantumDB(t *testing.T) {
	testbed.RequireRoot(t)
	hv := testbed.StartLBHost(t)
	vm1 := hv.AddVM(t, "vm1", "tapq1", "198.18.0.1/24")
	vm2 := hv.AddVM(t, "vm2", "tapq2", "198.18.0.2/24")
	vm3 := hv.AddVM(t, "vm3", "tapq3", "198.18.0.3/24")
	vm4 := hv.AddVM(t, "vm4", "tapq4", "198.18.0.4/24")
	onA := []agent.WiredPort{vmPort("a1", netA, vm1, local), vmPort("a2", netA, vm2, local)}
	onB := []agent.WiredPort{vmPort("b3", netB, vm3, local), vmPort("b4", netB, vm4, local)}
	brA, brB := BridgeName(netA), BridgeName(netB)

	first := newDP(t, hv, Config{QuantumDBID: "a"})
	syncUntil(t, first, append(append([]agent.WiredPort(nil), onA...), onB...), allUp("a1", "a2", "b3", "b4"))
	for _, br := range []string{brA, brB} {
		if got := aliasOf(t, hv, br); got != "quantum-agent:hv1:a" {
			t.Fatalf("bridge %s marked %q, want quantum-agent:hv1:a", br, got)
		}
	}
	if !vm1.WaitPing(t, vm2.IP, true, 20*time.Second) || !vm3.WaitPing(t, vm4.IP, true, 20*time.Second) {
		t.Fatal("no traffic on the wired networks")
	}
	indexA, indexB := hv.IfIndex(brA), hv.IfIndex(brB)
	if len(first.Warnings()) != 0 {
		t.Errorf("warnings with nothing of another DB: %q", first.Warnings())
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("another DB wanting nothing touches nothing", func(t *testing.T) {
		other := newDP(t, hv, Config{QuantumDBID: "b"})
		ping := vm1.StartPing(t, vm2.IP, 20*time.Millisecond)
		time.Sleep(300 * time.Millisecond)
		syncStates(t, other, nil)
		if n := other.netlinkOp.Load(); n != 0 {
			t.Errorf("the agent of another DB sent %d state-changing netlink requests; want 0", n)
		}
		time.Sleep(300 * time.Millisecond)
		if sent, received := ping.Stop(t); sent < 10 || received != sent {
			t.Errorf("continuous ping: %d sent, %d received; want no loss", sent, received)
		}
		for dev, br := range map[string]string{"tapq1": brA, "tapq2": brA, "tapq3": brB, "tapq4": brB} {
			if m := hv.Master(dev); m != br {
				t.Errorf("%s is on %q, want %s", dev, m, br)
			}
		}
		if hv.IfIndex(brA) != indexA || hv.IfIndex(brB) != indexB {
			t.Error("a bridge of another DB was deleted")
		}
		if !vm3.WaitPing(t, vm4.IP, true, 20*time.Second) {
			t.Error("vm3 cannot ping vm4")
		}
		warningsHave(t, other, "2 bridges and uplinks were made from another Quantum DB than b and are left untouched, with the 4 ports")
		_ = other.Close()
	})

	t.Run("another DB adopts what it wants", func(t *testing.T) {
		other := newDP(t, hv, Config{QuantumDBID: "b"})
		syncUntil(t, other, onB, allUp("b3", "b4"))
		if got := aliasOf(t, hv, brB); got != "quantum-agent:hv1:b" {
			t.Errorf("adopted bridge %s marked %q, want quantum-agent:hv1:b", brB, got)
		}
		if hv.IfIndex(brB) != indexB {
			t.Error("the adopted bridge was re-created")
		}
		if got := aliasOf(t, hv, brA); got != "quantum-agent:hv1:a" {
			t.Errorf("bridge %s of the other DB marked %q now", brA, got)
		}
		warningsHave(t, other, "1 bridges and uplinks were made from another Quantum DB than b and are left untouched, with the 2 ports")

		// Wanting one port of a bridge that still carries the other DB's
		// ports: it is used, but stays the other DB's, ports and all.
		want := append([]agent.WiredPort{onA[0]}, onB...)
		st := syncUntil(t, other, want, allUp("a1", "b3", "b4"))
		wantStatus(t, st, "a1", agent.StatusUp, "")
		if got := aliasOf(t, hv, brA); got != "quantum-agent:hv1:a" {
			t.Errorf("bridge %s still carrying the other DB's port marked %q", brA, got)
		}
		if hv.Master("tapq2") != brA {
			t.Error("the other DB's port was released from its bridge")
		}
		if !vm1.WaitPing(t, vm2.IP, true, 20*time.Second) {
			t.Error("vm1 cannot ping vm2 on the shared bridge")
		}
		warningsHave(t, other, "1 bridges and uplinks were made from another Quantum DB than b and are left untouched, with the 1 ports")
		syncStates(t, other, onB)
		if hv.Master("tapq1") != brA || hv.Master("tapq2") != brA {
			t.Error("a port on the other DB's bridge was released")
		}
		_ = other.Close()
	})

	t.Run("the first DB collects its own only", func(t *testing.T) {
		same := newDP(t, hv, Config{QuantumDBID: "a"})
		syncStates(t, same, nil)
		if _, err := hv.IPErr("link", "show", brA); err == nil {
			t.Errorf("bridge %s of the DB that made it, unwanted, is still there", brA)
		}
		if hv.Master("tapq1") != "" || hv.Master("tapq2") != "" || hv.IfIndex("tapq1") == 0 {
			t.Error("the taps of the collected bridge are not released, or were deleted")
		}
		if hv.IfIndex(brB) != indexB || hv.Master("tapq3") != brB || hv.Master("tapq4") != brB {
			t.Error("the bridge adopted by the other DB, or its ports, were touched")
		}
		if !vm3.WaitPing(t, vm4.IP, true, 20*time.Second) {
			t.Error("vm3 cannot ping vm4 on the other DB's bridge")
		}
		warningsHave(t, same, "1 bridges and uplinks were made from another Quantum DB than a and are left untouched, with the 2 ports")
	})
}

// TestIntegrationAdoptsLinksOfOlderAgents: links marked without a Quantum DB
// id (agents before it was recorded) are this DB's: re-marked when wanted,
// collected when not.
func TestIntegrationAdoptsLinksOfOlderAgents(t *testing.T) {
	testbed.RequireRoot(t)
	hv := testbed.StartLBHost(t)
	vm1 := hv.AddVM(t, "vm1", "tapl1", "198.18.0.1/24")
	vm2 := hv.AddVM(t, "vm2", "tapl2", "198.18.0.2/24")
	old := newDP(t, hv, Config{})
	syncUntil(t, old, []agent.WiredPort{vmPort("a1", netA, vm1, local), vmPort("b2", netB, vm2, local)}, allUp("a1", "b2"))
	if got := aliasOf(t, hv, BridgeName(netA)); got != "quantum-agent:hv1" {
		t.Fatalf("bridge marked %q by an agent without a DB id", got)
	}
	_ = old.Close()

	dp := newDP(t, hv, Config{QuantumDBID: "a"})
	syncUntil(t, dp, []agent.WiredPort{vmPort("a1", netA, vm1, local)}, allUp("a1"))
	if got := aliasOf(t, hv, BridgeName(netA)); got != "quantum-agent:hv1:a" {
		t.Errorf("adopted bridge marked %q, want quantum-agent:hv1:a", got)
	}
	if _, err := hv.IPErr("link", "show", BridgeName(netB)); err == nil {
		t.Error("an unwanted bridge of an older agent was not collected")
	}
	if hv.Master("tapl2") != "" {
		t.Error("the tap of the collected bridge is still enslaved")
	}
	if len(dp.Warnings()) != 0 {
		t.Errorf("warnings: %q", dp.Warnings())
	}
}
