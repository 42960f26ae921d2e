package ovs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
)

// hvPort is the WiredPort of a test-bed VM on local VLAN vlan.
func hvPort(id string, vm *testbed.VM, vlan int) agent.WiredPort {
	return agent.WiredPort{
		AttachmentID: "att-" + id, PortID: "port-" + id, NetworkID: netOf(vlan),
		Device: vm.Tap, MAC: vm.MAC, VMID: "vm-" + id, VLAN: vlan, AdminUp: true, Segment: vlanSegment(vlan),
	}
}

func startIntegration(t *testing.T, hv *testbed.OVS) *Datapath {
	t.Helper()
	return startConfigured(t, Config{OVSDB: hv.DBSocket, DatapathType: DatapathNetdev, Host: "hv-it"})
}

// syncUntil syncs desired, again on every change signal, until cond holds
// for the reported states; it fails the test at the deadline.
func syncUntil(t *testing.T, d *Datapath, what string, desired []agent.WiredPort,
	cond func(map[string]agent.PortState) bool) map[string]agent.PortState {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		states, err := d.Sync(ctx, desired)
		cancel()
		if err != nil {
			t.Fatalf("Sync (%s): %v", what, err)
		}
		got := map[string]agent.PortState{}
		for _, s := range states {
			got[s.AttachmentID] = s
		}
		if cond(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out syncing until %s; states: %+v", what, got)
		}
		select {
		case <-d.Changes():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func allUp(ps ...agent.WiredPort) func(map[string]agent.PortState) bool {
	return func(got map[string]agent.PortState) bool {
		for _, p := range ps {
			if got[p.AttachmentID].Status != agent.StatusUp {
				return false
			}
		}
		return true
	}
}

func TestIntegrationWiresVMs(t *testing.T) {
	testbed.RequireRoot(t)
	hv := testbed.StartOVS(t, testbed.OVSOptions{})
	vm1 := testbed.AddVM(t, hv, "vm1", "tapq1", "198.18.1.1/24")
	vm2 := testbed.AddVM(t, hv, "vm2", "tapq2", "198.18.1.2/24")
	vm3 := testbed.AddVM(t, hv, "vm3", "tapq3", "198.18.1.3/24")
	d := startIntegration(t, hv)

	if got := hv.Vsctl("get", "Bridge", "br-int", "datapath_type"); got != "netdev" {
		t.Fatalf("br-int datapath_type = %s, want netdev", got)
	}
	if err := d.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}

	p1, p2, p3 := hvPort("1", vm1, 101), hvPort("2", vm2, 101), hvPort("3", vm3, 102)
	desired := []agent.WiredPort{p1, p2, p3}
	syncUntil(t, d, "all ports UP", desired, allUp(desired...))
	if got := strings.Trim(hv.Vsctl("get", "Interface", "tapq1", "external_ids:iface-id"), `"`); got != "att-1" {
		t.Errorf("tapq1 iface-id = %s", got)
	}

	if !vm1.WaitPing(t, vm2.IP, true, 20*time.Second) {
		t.Fatal("vm1 cannot ping vm2 on VLAN 101")
	}
	if vm1.Ping(t, vm3.IP) {
		t.Error("vm1 pings vm3 on VLAN 102")
	}
	if !vm1.CanTCP(t, vm2) {
		t.Error("TCP from vm1 to vm2 carries no data")
	}

	t.Run("admin down cuts traffic", func(t *testing.T) {
		down := p2
		down.AdminUp = false
		syncUntil(t, d, "admin down applied", []agent.WiredPort{p1, down, p3}, allUp(p1, down, p3))
		if got := hv.Vsctl("get", "Port", "tapq2", "tag"); got != "4095" {
			t.Fatalf("tag of admin-down port = %s, want 4095", got)
		}
		if !vm1.WaitPing(t, vm2.IP, false, 20*time.Second) {
			t.Error("vm1 still pings vm2 while vm2's port is admin down")
		}
		syncUntil(t, d, "admin up again", desired, allUp(desired...))
		if !vm1.WaitPing(t, vm2.IP, true, 20*time.Second) {
			t.Error("vm1 cannot ping vm2 after its port is admin up again")
		}
	})

	t.Run("foreign port untouched", func(t *testing.T) {
		hv.Vsctl("add-port", "br-int", "opport", "tag=7", "--", "set", "Interface", "opport", "type=internal",
			"external_ids:owner=operator")
		before := hv.Vsctl("--columns=name,tag,external_ids,interfaces", "list", "Port", "opport")
		clash := agent.WiredPort{AttachmentID: "att-clash", Device: "opport", VLAN: 101, AdminUp: true, Segment: vlanSegment(101)}
		got := syncUntil(t, d, "clash reported", append(desired, clash), func(m map[string]agent.PortState) bool {
			return m[clash.AttachmentID].Status == agent.StatusFailed
		})
		if !strings.Contains(got[clash.AttachmentID].Reason, "not owned by quantum-agent") {
			t.Errorf("clash reason = %q", got[clash.AttachmentID].Reason)
		}
		syncUntil(t, d, "clash gone", desired, allUp(desired...))
		if after := hv.Vsctl("--columns=name,tag,external_ids,interfaces", "list", "Port", "opport"); after != before {
			t.Errorf("foreign port changed:\nbefore %s\nafter  %s", before, after)
		}
	})

	t.Run("missing device comes up once created", func(t *testing.T) {
		p4 := agent.WiredPort{AttachmentID: "att-4", PortID: "port-4", NetworkID: netOf(101), Device: "tapq4", VLAN: 101, AdminUp: true, Segment: vlanSegment(101)}
		withP4 := append(append([]agent.WiredPort(nil), desired...), p4)
		got := syncUntil(t, d, "missing device reported DOWN", withP4, func(m map[string]agent.PortState) bool {
			return m[p4.AttachmentID].Status == agent.StatusDown
		})
		if r := got[p4.AttachmentID].Reason; r != "device tapq4 does not exist" {
			t.Errorf("missing device reason = %q", r)
		}
		vm4 := testbed.AddVM(t, hv, "vm4", "tapq4", "198.18.1.4/24")
		syncUntil(t, d, "created device UP", withP4, allUp(withP4...))
		if !vm4.WaitPing(t, vm1.IP, true, 20*time.Second) {
			t.Error("vm4 cannot ping vm1 on VLAN 101")
		}
		syncUntil(t, d, "vm4 unwired", desired, allUp(desired...))
		if ports := hv.Vsctl("list-ports", "br-int"); strings.Contains(ports, "tapq4") {
			t.Errorf("tapq4 still on br-int after it left the desired state: %s", ports)
		}
	})

	t.Run("agent restart adopts ports", func(t *testing.T) {
		ofport := hv.Vsctl("get", "Interface", "tapq1", "ofport")
		d2 := startIntegration(t, hv)
		syncUntil(t, d2, "adopted", desired, allUp(desired...))
		if n := d2.transactions.Load(); n != 0 {
			t.Errorf("restarted agent made %d transactions for ports already right, want 0", n)
		}
		if got := hv.Vsctl("get", "Interface", "tapq1", "ofport"); got != ofport {
			t.Errorf("ofport of tapq1 changed from %s to %s", ofport, got)
		}
	})
}

// TestIntegrationWarnsWithoutTSO checks the warning the agent gives on a
// netdev bridge without userspace TSO.
func TestIntegrationWarnsWithoutTSO(t *testing.T) {
	testbed.RequireRoot(t)
	hv := testbed.StartOVS(t, testbed.OVSOptions{NoUserspaceTSO: true})
	d := startIntegration(t, hv)
	if w := d.tsoWarning(); !strings.Contains(w, "userspace-tso-enable") {
		t.Errorf("tsoWarning = %q, want a warning about userspace-tso-enable", w)
	}
}

// TestIntegrationReconnects checks that the datapath survives an
// ovsdb-server restart: not ready while it is away, a Changes signal once it
// is back, and Sync working again.
func TestIntegrationReconnects(t *testing.T) {
	testbed.RequireRoot(t)
	hv := testbed.StartOVS(t, testbed.OVSOptions{})
	vm1 := testbed.AddVM(t, hv, "vm1", "tapr1", "198.18.2.1/24")
	d := startIntegration(t, hv)
	p1 := hvPort("1", vm1, 101)
	syncUntil(t, d, "port UP", []agent.WiredPort{p1}, allUp(p1))

	hv.RestartDB()
	deadline := time.Now().Add(30 * time.Second)
	for d.Ready() != nil || !d.client.Connected() {
		if time.Now().After(deadline) {
			t.Fatalf("not ready again after ovsdb-server restart: %v", d.Ready())
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case <-d.Changes():
	case <-time.After(10 * time.Second):
		t.Error("no Changes signal after reconnecting")
	}
	p2 := onVLAN(p1, 102)
	syncUntil(t, d, "retagged after reconnect", []agent.WiredPort{p2}, allUp(p2))
	if got := hv.Vsctl("get", "Port", "tapr1", "tag"); got != "102" {
		t.Errorf("tag after reconnect = %s, want 102", got)
	}
}
