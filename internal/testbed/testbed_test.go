package testbed

import (
	"strings"
	"testing"
	"time"
)

func TestHypervisorSwitchesVLANs(t *testing.T) {
	RequireRoot(t)
	hv := StartOVS(t, OVSOptions{})
	if got := hv.Vsctl("get", "Open_vSwitch", ".", "other_config:userspace-tso-enable"); got != `"true"` {
		t.Fatalf("userspace-tso-enable = %s, want \"true\"", got)
	}
	hv.Vsctl("add-br", "br0", "--", "set", "Bridge", "br0", "datapath_type=netdev")
	vm1 := AddVM(t, hv, "vm1", "tapa1", "198.18.0.1/24")
	vm2 := AddVM(t, hv, "vm2", "tapa2", "198.18.0.2/24")
	vm3 := AddVM(t, hv, "vm3", "tapa3", "198.18.0.3/24")
	hv.Vsctl("add-port", "br0", vm1.Tap, "tag=10",
		"--", "add-port", "br0", vm2.Tap, "tag=10",
		"--", "add-port", "br0", vm3.Tap, "tag=20")

	if !vm1.WaitPing(t, vm2.IP, true, 20*time.Second) {
		t.Fatal("vm1 cannot ping vm2 on the same tag")
	}
	if vm1.Ping(t, vm3.IP) {
		t.Error("vm1 pings vm3 on another tag")
	}
	if !vm1.CanTCP(t, vm2) {
		t.Error("TCP from vm1 to vm2 does not carry data")
	}

	hv.RestartVswitchd()
	if !vm1.WaitPing(t, vm2.IP, true, 20*time.Second) {
		t.Fatal("vm1 cannot ping vm2 after ovs-vswitchd restarted")
	}
	if !strings.Contains(hv.Vsctl("list-ports", "br0"), vm1.Tap) {
		t.Error("port lost across restart")
	}
}

func TestQuantumDBRestartKeepsData(t *testing.T) {
	RequireRoot(t)
	dir := t.TempDir()
	if len(dir) > 80 {
		t.Skip("temp dir too long for a unix socket")
	}
	s := StartQuantumDBAt(t, dir)
	if out := Run(t, nil, "ovsdb-client", "list-dbs", s.Endpoint); !strings.Contains(out, "Quantum") {
		t.Fatalf("list-dbs = %q, want the Quantum database", out)
	}
	s.Restart()
	if out := Run(t, nil, "ovsdb-client", "list-dbs", s.Endpoint); !strings.Contains(out, "Quantum") {
		t.Fatalf("after restart list-dbs = %q, want the Quantum database", out)
	}
	if ep := StartQuantumDB(t); !strings.HasPrefix(ep, "unix:/") {
		t.Errorf("StartQuantumDB endpoint = %q", ep)
	}
}
