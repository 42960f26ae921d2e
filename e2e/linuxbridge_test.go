package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// startLBAgent runs the built agent with --datapath linuxbridge inside hv's
// namespace and waits until its socket answers; t.Cleanup kills it by PID.
func startLBAgent(t *testing.T, hv *testbed.LBHost, qdb, dir, host, vtep string) *client.Client {
	t.Helper()
	socket := filepath.Join(dir, host+".sock")
	cmd := exec.Command("ip", "netns", "exec", hv.NetNS, filepath.Join(bins, "quantum-agent"),
		"--datapath", "linuxbridge", "--socket", socket, "--quantum-db", qdb, "--host", host,
		"--vxlan-local-ip", vtep, "--metrics-listen", "", "--log-level", "debug")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL) // ip netns exec execs the agent: the PID is the agent's
		<-done
		if t.Failed() {
			t.Logf("agent %s log:\n%s", host, log.String())
		}
	})
	c := client.New(socket)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := c.Versions(context.Background()); err == nil {
			return c
		}
		select {
		case <-done:
			t.Fatalf("agent %s exited at start:\n%s", host, log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s socket never answered:\n%s", host, log.String())
		}
	}
}

// TestLinuxBridgeVXLANAcrossHosts is the Linux-bridge user story: two
// hypervisors, each with its own agent (--datapath linuxbridge), sharing
// one Quantum DB; VMs plugged through the API ping across hosts on their
// VXLAN network and not across networks, and admin DOWN cuts traffic.
func TestLinuxBridgeVXLANAcrossHosts(t *testing.T) {
	testbed.RequireRoot(t)
	dir := testutil.ShortDir(t)
	qdb := testbed.StartQuantumDB(t)
	hv1, hv2 := testbed.StartLBHost(t), testbed.StartLBHost(t)
	testbed.Underlay(t, hv1, hv2, "198.19.0.1", "198.19.0.2")
	c1 := startLBAgent(t, hv1, qdb, dir, "lb-hv1", "198.19.0.1")
	c2 := startLBAgent(t, hv2, qdb, dir, "lb-hv2", "198.19.0.2")
	x1 := hv1.AddVM(t, "x1", "tapx1", "198.18.2.1/24")
	x2 := hv2.AddVM(t, "x2", "tapx2", "198.18.2.2/24")
	y2 := hv2.AddVM(t, "y2", "tapy2", "198.18.2.3/24")
	for _, vm := range []*testbed.VM{x1, x2, y2} {
		vm.SetMTU(t, 1450)
	}

	ctx := ctxT(t)
	must := mustID(t)
	netX := must(c1.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "x", NetworkType: "vxlan", SegmentationID: 4242}))
	netY := must(c1.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "y", NetworkType: "vxlan", SegmentationID: 4243}))
	plug := func(c *client.Client, netID string, vm *testbed.VM) string {
		port := must(c.CreatePort(ctx, "demo", netID, "ACTIVE"))
		if err := c.Plug(ctx, "demo", netID, port, client.PlugRequest{ID: "vif-" + vm.Name, Device: vm.Tap, MAC: vm.MAC}); err != nil {
			t.Fatalf("plug %s: %v", vm, err)
		}
		att, err := c.WaitAttachment(ctx, "demo", netID, port, "UP", 30*time.Second)
		if err != nil || att == nil || att.Status != "UP" {
			t.Fatalf("%s never came UP: %+v, %v", vm, att, err)
		}
		return port
	}
	plug(c1, netX, x1)
	px2 := plug(c2, netX, x2)
	plug(c2, netY, y2)

	if !x1.WaitPing(t, x2.IP, true, 30*time.Second) {
		t.Fatalf("%s cannot ping %s across hosts on one VXLAN network", x1, x2)
	}
	if x1.Ping(t, y2.IP) {
		t.Errorf("%s pings %s on another network", x1, y2)
	}
	if !x1.CanTCP(t, x2) {
		t.Errorf("TCP %s -> %s does not carry data", x1, x2)
	}
	if err := c2.UpdatePort(ctx, "demo", netX, px2, "DOWN"); err != nil {
		t.Fatal(err)
	}
	if !x1.WaitPing(t, x2.IP, false, 30*time.Second) {
		t.Errorf("%s still pings %s with its port DOWN", x1, x2)
	}
	if err := c2.UpdatePort(ctx, "demo", netX, px2, "ACTIVE"); err != nil {
		t.Fatal(err)
	}
	if !x1.WaitPing(t, x2.IP, true, 30*time.Second) {
		t.Errorf("%s cannot ping %s after its port is ACTIVE again", x1, x2)
	}
}
