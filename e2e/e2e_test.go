// Package e2e runs the built quantum-agent and quantumctl binaries on a
// sandbox hypervisor (a network namespace with its own Open vSwitch) against
// a real Quantum DB ovsdb-server, and checks what a user would: API answers,
// durability across a SIGKILL, and packets between VMs.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// bins holds the binaries built once for the package.
var bins string

func TestMain(m *testing.M) {
	dir, err := testbed.BuildBinaries("quantum-agent", "quantumctl")
	if err != nil {
		fmt.Fprintln(os.Stderr, "build binaries:", err)
		os.Exit(1)
	}
	bins = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// agentProc is one quantum-agent process running in a hypervisor namespace.
type agentProc struct {
	*testbed.Process
	socket string
}

// startAgent starts cmd (an agent; its output goes to p.Log unless cmd
// already says otherwise); the test's cleanup kills it and, if the test
// failed, shows what it logged.
func startAgent(t *testing.T, name string, cmd *exec.Cmd, socket string) *agentProc {
	t.Helper()
	return &agentProc{Process: testbed.StartProcess(t, name, cmd), socket: socket}
}

// waitAnswering returns once the agent's API answers c; it fails the test
// if the agent exits first or does not answer within d.
func (p *agentProc) waitAnswering(t *testing.T, c *client.Client, d time.Duration) {
	t.Helper()
	p.WaitAnswering(t, d, func() error {
		_, err := c.Versions(context.Background())
		return err
	})
}

type sandbox struct {
	hv       *testbed.OVS
	qdb      *testbed.DBServer
	socket   string
	host     string
	extraArg []string
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	return newSandboxWith(t, testbed.OVSOptions{})
}

func newSandboxWith(t *testing.T, opts testbed.OVSOptions) *sandbox {
	t.Helper()
	testbed.RequireRoot(t)
	dir := testutil.ShortDir(t)
	return &sandbox{
		hv:     testbed.StartOVS(t, opts),
		qdb:    testbed.StartQuantumDBAt(t, dir),
		socket: filepath.Join(dir, "quantum.sock"),
		host:   "e2e-hv",
	}
}

// start runs the agent in the hypervisor's namespace and waits until its
// socket answers.
func (s *sandbox) start(t *testing.T) *agentProc {
	t.Helper()
	args := append([]string{"netns", "exec", s.hv.NetNS, filepath.Join(bins, "quantum-agent"),
		"--socket", s.socket, "--quantum-db", s.qdb.Endpoint, "--ovs-db", s.hv.DBSocket,
		"--ovs-datapath-type", "netdev", "--network-vlan-ranges", "physnet1:100:199",
		"--host", s.host, "--metrics-listen", "", "--log-level", "debug"}, s.extraArg...)
	p := startAgent(t, "agent", exec.Command("ip", args...), s.socket)
	p.waitAnswering(t, client.New(s.socket), 30*time.Second)
	return p
}

// term sends SIGTERM and returns the exit error (nil for exit code 0).
func (p *agentProc) term(t *testing.T) error {
	t.Helper()
	return p.Term(t, 40*time.Second)
}

// pingWait bounds how long a test waits for traffic to start or stop
// after a change: wiring is asynchronous.
const pingWait = 20 * time.Second

func ctxT(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// quantumctl runs the CLI against the sandbox's socket.
func (s *sandbox) quantumctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bins, "quantumctl"), append([]string{"--socket", s.socket, "--tenant", "demo"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mustID returns a must(id, err) for t: it fails the test on err.
func mustID(t *testing.T) func(string, error) string {
	return func(id string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
}

// TestPingThroughOVS is the user story of the foundation issue: two VMs
// plugged into one network ping each other through OVS; one on another
// network cannot; TCP flows too.
func TestPingThroughOVS(t *testing.T) {
	s := newSandbox(t)
	s.start(t)
	vm1 := testbed.AddVM(t, s.hv, "vm1", "tapvm1", "198.18.0.1/24")
	vm2 := testbed.AddVM(t, s.hv, "vm2", "tapvm2", "198.18.0.2/24")
	vm3 := testbed.AddVM(t, s.hv, "vm3", "tapvm3", "198.18.0.3/24")

	c := client.New(s.socket)
	ctx := ctxT(t)
	must := mustID(t)
	net1 := must(c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "net1"}))
	// The second network through the CLI, as an operator would.
	out, err := s.quantumctl(t, "-o", "json", "net-create", "net2")
	if err != nil {
		t.Fatalf("quantumctl net-create: %v\n%s", err, out)
	}
	var created struct {
		Network struct {
			ID string `json:"id"`
		} `json:"network"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Network.ID == "" {
		t.Fatalf("quantumctl -o json net-create printed %q (%v)", out, err)
	}
	net2 := created.Network.ID

	plug := func(netID string, vm *testbed.VM) string {
		port := must(c.CreatePort(ctx, "demo", netID, "ACTIVE"))
		if err := c.Plug(ctx, "demo", netID, port, client.PlugRequest{ID: "vif-" + vm.Name, Device: vm.Tap, MAC: vm.MAC}); err != nil {
			t.Fatalf("plug %s: %v", vm, err)
		}
		att, err := c.WaitAttachment(ctx, "demo", netID, port, "UP", 30*time.Second)
		if err != nil || att == nil || att.Status != "UP" {
			t.Fatalf("attachment of %s never UP: %+v, %v", vm, att, err)
		}
		return port
	}
	p1 := plug(net1, vm1)
	plug(net1, vm2)
	plug(net2, vm3)

	if !vm1.WaitPing(t, vm2.IP, true, pingWait) {
		t.Fatalf("%s cannot ping %s on the same network", vm1, vm2)
	}
	if !vm1.CanTCP(t, vm2) {
		t.Errorf("TCP from %s to %s fails on the same network", vm1, vm2)
	}
	if vm1.Ping(t, vm3.IP) {
		t.Errorf("%s pings %s across networks", vm1, vm3)
	}

	// Admin DOWN cuts traffic; ACTIVE restores it.
	if err := c.UpdatePort(ctx, "demo", net1, p1, "DOWN"); err != nil {
		t.Fatal(err)
	}
	if !vm1.WaitPing(t, vm2.IP, false, pingWait) {
		t.Errorf("%s still pings %s with its port DOWN", vm1, vm2)
	}
	if err := c.UpdatePort(ctx, "demo", net1, p1, "ACTIVE"); err != nil {
		t.Fatal(err)
	}
	if !vm1.WaitPing(t, vm2.IP, true, pingWait) {
		t.Errorf("%s cannot ping %s after its port is ACTIVE again", vm1, vm2)
	}

	// Unplug removes the OVS port; the CLI shows the empty attachment.
	if err := c.Unplug(ctx, "demo", net1, p1); err != nil {
		t.Fatal(err)
	}
	if !vm1.WaitPing(t, vm2.IP, false, pingWait) {
		t.Errorf("%s still pings %s after unplug", vm1, vm2)
	}
	if out, err := s.quantumctl(t, "attachment-show", net1, p1); err != nil {
		t.Errorf("quantumctl attachment-show: %v\n%s", err, out)
	}
}

// TestDurableAcrossSIGKILL: a 2xx means the change is in the Quantum DB, so
// an agent killed right after answering, then restarted, still has it.
func TestDurableAcrossSIGKILL(t *testing.T) {
	s := newSandbox(t)
	p := s.start(t)
	c := client.New(s.socket)
	ctx := ctxT(t)
	must := mustID(t)
	netID := must(c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "durable"}))
	portID := must(c.CreatePort(ctx, "demo", netID, "ACTIVE"))
	if err := c.Plug(ctx, "demo", netID, portID, client.PlugRequest{ID: "vif-durable", Device: "tapdurable"}); err != nil {
		t.Fatal(err)
	}
	p.Kill()
	s.start(t)
	n, err := c.GetNetwork(ctx, "demo", netID)
	if err != nil || n.Name != "durable" || len(n.Ports) != 1 || n.Ports[0].ID != portID {
		t.Fatalf("after SIGKILL and restart: %+v, %v", n, err)
	}
	att, err := c.GetAttachment(ctx, "demo", netID, portID)
	if err != nil || att == nil || att.ID != "vif-durable" {
		t.Fatalf("attachment after restart: %+v, %v", att, err)
	}
	// Plugged before its device exists: the reason says so.
	att, err = c.WaitAttachment(ctx, "demo", netID, portID, "DOWN", 20*time.Second)
	if err != nil || att.Status != "DOWN" || !strings.Contains(att.Reason, "tapdurable") {
		t.Errorf("attachment of a missing device: %+v, %v; want DOWN naming the device", att, err)
	}
}

// TestSIGTERMExitsZero: SIGTERM drains and the agent exits 0.
func TestSIGTERMExitsZero(t *testing.T) {
	s := newSandbox(t)
	p := s.start(t)
	if err := p.term(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Log.String())
	}
	if _, err := os.Stat(s.socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left behind after a clean stop: %v", err)
	}
}

// TestSocketOwnership: a second agent does not steal the socket of a live
// one; a stale socket file left by a dead agent is replaced.
func TestSocketOwnership(t *testing.T) {
	s := newSandbox(t)
	p := s.start(t)
	second := exec.Command(filepath.Join(bins, "quantum-agent"), "--socket", s.socket,
		"--quantum-db", s.qdb.Endpoint, "--ovs-db", s.hv.DBSocket, "--metrics-listen", "", "--host", "x")
	out, err := runWithTimeout(second, 30*time.Second)
	if err == nil || !strings.Contains(out, "socket") {
		t.Fatalf("second agent on a live socket: err=%v\n%s", err, out)
	}
	if _, err := client.New(s.socket).Versions(ctxT(t)); err != nil {
		t.Fatalf("first agent's socket broken by the second: %v", err)
	}
	p.Kill() // leaves the socket file behind
	if _, err := os.Stat(s.socket); err != nil {
		t.Fatalf("expected a stale socket after SIGKILL: %v", err)
	}
	s.start(t) // must replace it
}

func runWithTimeout(cmd *exec.Cmd, d time.Duration) (string, error) {
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return buf.String(), err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return buf.String(), errors.New("timed out")
	}
}

// TestUnansweringDBIsServiceUnavailable: a Quantum DB that stops answering
// (SIGSTOP: the socket stays, nothing replies) turns a write into
// serviceUnavailable within the request deadline, never a hang; when it
// answers again, so does the agent.
func TestUnansweringDBIsServiceUnavailable(t *testing.T) {
	s := newSandbox(t)
	s.extraArg = []string{"--request-timeout", "2s"}
	s.start(t)
	// One try: this test is about the agent's answer, not the client's retries.
	c := client.New(s.socket, client.WithTimeout(20*time.Second), client.WithRetry(client.RetryPolicy{Attempts: 1}))
	ctx := ctxT(t)
	resume := freeze(t, readPID(t, filepath.Join(s.qdb.Dir, "db.pid")))
	_, err := c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "stuck"})
	if !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("create with the DB stopped: %v, want service unavailable", err)
	}
	resume()
	testutil.Eventually(t, "the agent to recover after the DB answered again", 30*time.Second, func() bool {
		_, err := c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "after"})
		return err == nil
	})
}

func readPID(t *testing.T, pidfile string) int {
	t.Helper()
	pid, err := testbed.ReadPID(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestMissingUserspaceTSOWarned: a netdev bridge without userspace TSO
// (TCP through veths then moves nothing, DESIGN.md §5) is reported to the
// operator in the status, though wiring goes on.
func TestMissingUserspaceTSOWarned(t *testing.T) {
	s := newSandboxWith(t, testbed.OVSOptions{NoUserspaceTSO: true})
	s.start(t)
	st, err := client.New(s.socket).Status(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "userspace-tso-enable") {
		t.Fatalf("status warnings = %q, want one naming userspace-tso-enable", st.Warnings)
	}
	out, err := s.quantumctl(t, "status")
	if !strings.Contains(out, "Warning") || !strings.Contains(out, "userspace-tso-enable") {
		t.Errorf("quantumctl status does not show the warning (err %v):\n%s", err, out)
	}
}
