package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// launchOpts adds to what sandbox.start does: environment, inherited
// files (fd 3 on), own flags, and whether LISTEN_PID must be the agent's
// pid (socket activation).
type launchOpts struct {
	env        []string
	files      []*os.File
	args       []string
	listenPID  bool
	waitSocket string   // socket to poll until the API answers
	stderr     *os.File // the agent's stderr instead of the in-memory log
}

// launch runs the agent binary in the hypervisor's namespace the way
// systemd would hand it a notify socket or a listening socket.
//
// LISTEN_PID must equal the agent's own pid, which the test cannot know
// before the exec; so, as systemd does, the process sets it itself just
// before becoming the agent: `sh -c 'LISTEN_PID=$$ exec agent'` (ip netns
// exec and sh's exec keep the pid, and fd 3 stays open across both).
func (s *sandbox) launch(t *testing.T, o launchOpts) *agentProc {
	t.Helper()
	agentArgs := append([]string{filepath.Join(bins, "quantum-agent"),
		"--quantum-db", s.qdb.Endpoint, "--ovs-db", s.hv.DBSocket,
		"--ovs-datapath-type", "netdev", "--network-vlan-ranges", "physnet1:100:199",
		"--host", s.host, "--log-level", "debug"}, o.args...)
	args := []string{"netns", "exec", s.hv.NetNS}
	if o.listenPID {
		args = append(args, "sh", "-c", `export LISTEN_PID=$$; exec "$@"`, "sh")
	}
	args = append(args, agentArgs...)
	cmd := exec.Command("ip", args...)
	cmd.Env = append(os.Environ(), o.env...)
	cmd.ExtraFiles = o.files
	if o.stderr != nil {
		cmd.Stderr = o.stderr
	}
	p := startAgent(t, "agent", cmd, o.waitSocket)
	p.waitAnswering(t, client.New(o.waitSocket), 60*time.Second)
	return p
}

func (p *agentProc) logText() string { return p.Log.String() }

// notifySocket is a systemd-style NOTIFY_SOCKET: every datagram the agent
// sends arrives on msgs.
func notifySocket(t *testing.T, dir string) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := make(chan string, 1024)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return path, msgs
}

// awaitMsg returns the first notify message for which ok holds.
func awaitMsg(t *testing.T, msgs <-chan string, what string, ok func(string) bool) string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case m, open := <-msgs:
			if !open {
				t.Fatalf("notify socket closed while waiting for %s", what)
			}
			if ok(m) {
				return m
			}
		case <-timeout:
			t.Fatalf("no %s from the agent", what)
		}
	}
}

// TestSystemdNotify runs the agent as systemd would with Type=notify and
// WatchdogSec=2: READY=1 with a STATUS= line once synced, WATCHDOG=1
// repeatedly, STATUS= following the attachments, STOPPING=1 at SIGTERM.
func TestSystemdNotify(t *testing.T) {
	s := newSandbox(t)
	dir := filepath.Dir(s.socket)
	notify, msgs := notifySocket(t, dir)
	p := s.launch(t, launchOpts{
		env:        []string{"NOTIFY_SOCKET=" + notify, "WATCHDOG_USEC=2000000"},
		args:       []string{"--socket", s.socket, "--metrics-listen", ""},
		waitSocket: s.socket,
	})
	ready := awaitMsg(t, msgs, "READY=1", func(m string) bool { return strings.Contains(m, "READY=1") })
	if !strings.Contains(ready, "STATUS=ready; 0 networks, 0 attachments UP, 0 FAILED") {
		t.Errorf("READY message %q lacks the status line", ready)
	}
	for i := range 3 {
		awaitMsg(t, msgs, fmt.Sprintf("WATCHDOG=1 #%d", i+1), func(m string) bool { return m == "WATCHDOG=1" })
	}
	if !strings.Contains(p.logText(), "resync interval shortened") {
		t.Errorf("the reconciler's resync was not fitted to the 2s watchdog")
	}

	vm := testbed.AddVM(t, s.hv, "vm1", "tapvm1", "198.18.0.1/24")
	c := client.New(s.socket)
	ctx := ctxT(t)
	must := mustID(t)
	netID := must(c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "net1"}))
	port := must(c.CreatePort(ctx, "demo", netID, "ACTIVE"))
	if err := c.Plug(ctx, "demo", netID, port, client.PlugRequest{ID: "vif-vm1", Device: vm.Tap, MAC: vm.MAC}); err != nil {
		t.Fatal(err)
	}
	awaitMsg(t, msgs, "STATUS= with the attachment UP", func(m string) bool {
		return strings.Contains(m, "STATUS=ready; 1 networks, 1 attachments UP, 0 FAILED")
	})
	// The watchdog keeps being fed while the agent works.
	awaitMsg(t, msgs, "WATCHDOG=1 after the plug", func(m string) bool { return m == "WATCHDOG=1" })

	if err := p.term(t); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	awaitMsg(t, msgs, "STOPPING=1", func(m string) bool { return strings.Contains(m, "STOPPING=1") })
}

// TestSocketActivation hands the agent a listening socket as fd 3 with
// LISTEN_FDS=1 and LISTEN_PID, as systemd's quantum-agent.socket does. A
// client that connected before the agent started is answered, and the
// agent makes no socket of its own.
func TestSocketActivation(t *testing.T) {
	s := newSandbox(t)
	dir := filepath.Dir(s.socket)
	activated := filepath.Join(dir, "activated.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: activated, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	// Connects now, into the listen backlog: answered once the agent runs.
	early := make(chan error, 1)
	go func() {
		_, err := client.New(activated, client.WithTimeout(90*time.Second)).Versions(context.Background())
		early <- err
	}()

	p := s.launch(t, launchOpts{
		env:        []string{"LISTEN_FDS=1", "LISTEN_FDNAMES=quantum.socket"},
		files:      []*os.File{f},
		listenPID:  true,
		args:       []string{"--socket", s.socket, "--metrics-listen", ""},
		waitSocket: activated,
	})
	select {
	case err := <-early:
		if err != nil {
			t.Errorf("request queued before the agent started: %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Error("request queued before the agent started was never answered")
	}
	if _, err := os.Stat(s.socket); !os.IsNotExist(err) {
		t.Errorf("agent made its own socket %s under socket activation (stat: %v)", s.socket, err)
	}
	if !strings.Contains(p.logText(), "using the socket passed by systemd") {
		t.Errorf("log does not say the passed socket is used")
	}
	if err := p.term(t); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
}

// TestMetricsReadyzAndStatus scrapes the running agent: the metrics a
// dashboard needs after a plug, lint-clean (promlint, and promtool when
// installed); /readyz and `quantumctl status` follow the Quantum DB going
// away and coming back, and the reconnect is counted.
func TestMetricsReadyzAndStatus(t *testing.T) {
	s := newSandbox(t)
	s.launch(t, launchOpts{args: []string{"--socket", s.socket, "--metrics-listen", "127.0.0.1:9697"}, waitSocket: s.socket})
	vm := testbed.AddVM(t, s.hv, "vm1", "tapvm1", "198.18.0.1/24")
	c := client.New(s.socket)
	ctx := ctxT(t)
	must := mustID(t)
	netID := must(c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "net1"}))
	port := must(c.CreatePort(ctx, "demo", netID, "ACTIVE"))
	// Through the CLI with --wait, as an operator would.
	out, err := s.quantumctl(t, "plug", netID, port, "vif-vm1", "--device", vm.Tap, "--mac", vm.MAC, "--wait")
	if err != nil || !strings.Contains(out, "UP") {
		t.Fatalf("quantumctl plug --wait: %v\n%s", err, out)
	}

	get := func(path string) (string, bool) {
		out, err := exec.Command("ip", "netns", "exec", s.hv.NetNS, "curl", "-s", "-f", "-m", "20", "http://127.0.0.1:9697"+path).CombinedOutput()
		return string(out), err == nil
	}
	metrics := pollUntil(t, "metrics after the plug", func() (string, bool) {
		m, ok := get("/metrics")
		return m, ok && strings.Contains(m, "quantum_agent_plug_to_up_seconds_count 1")
	})
	for _, w := range []string{
		`quantum_agent_build_info{datapath="ovs",goversion="go`,
		`quantum_agent_attachments{status="UP"} 1`,
		`quantum_agent_networks 1`,
		`quantum_agent_ports{status="UP"} 1`,
		`quantum_agent_vlan_pool_free{physical_network="physnet1"} 99`,
		`quantum_agent_vlan_pool_size{physical_network="physnet1"} 100`,
		`quantum_agent_ovsdb_connected{database="quantum"} 1`,
		`quantum_agent_ovsdb_connected{database="open_vswitch"} 1`,
		`quantum_agent_api_requests_total{code="204",method="PUT",route="/v1.1/tenants/{tenant}/networks/{net}/ports/{port}/attachment"} 1`,
		`quantum_agent_api_request_duration_seconds_bucket{method="POST",route="/v1.1/tenants/{tenant}/networks",le="+Inf"} 1`,
		`quantum_agent_reconcile_passes_total{trigger="resync"} `,
		`quantum_agent_reconcile_pass_duration_seconds_count `,
		`quantum_agent_reconcile_errors_total `,
		`process_resident_memory_bytes `,
		`go_goroutines `,
	} {
		if !strings.Contains(metrics, w) {
			t.Errorf("metrics lack %q", w)
		}
	}
	if strings.Contains(metrics, netID) || strings.Contains(metrics, port) {
		t.Error("an id appears in the metrics (route labels must be patterns)")
	}
	problems, err := promlint.New(strings.NewReader(metrics)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	promtoolCheck(t, metrics)

	if body, ok := get("/healthz"); !ok || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %v %q", ok, body)
	}
	if body, ok := get("/readyz"); !ok || strings.TrimSpace(body) != "ready" {
		t.Errorf("/readyz: %v %q", ok, body)
	}
	if out, err := s.quantumctl(t, "status"); err != nil || !strings.Contains(out, "yes") || !strings.Contains(squeeze(out), "Attachments 1 UP, 0 FAILED") {
		t.Errorf("quantumctl status: %v\n%s", err, out)
	}

	s.qdb.Stop()
	pollUntil(t, "/readyz 503 naming the Quantum DB", func() (string, bool) {
		out, err := exec.Command("ip", "netns", "exec", s.hv.NetNS, "curl", "-s", "-m", "20", "-w", " %{http_code}", "http://127.0.0.1:9697/readyz").CombinedOutput()
		return string(out), err == nil && strings.Contains(string(out), "not ready: Quantum DB: not connected") && strings.HasSuffix(string(out), " 503")
	})
	out, err = s.quantumctl(t, "status")
	if err == nil || !strings.Contains(out, "NOT CONNECTED") || !strings.Contains(out, "not ready") {
		t.Errorf("quantumctl status with the DB down: %v\n%s", err, out)
	}
	// The connection gauge polls once a second: let it see the outage (a
	// status that answers at once no longer stretches it), so the
	// reconnect is counted.
	pollUntil(t, "the connection gauge to see the Quantum DB gone", func() (string, bool) {
		m, _ := get("/metrics")
		return m, strings.Contains(m, `quantum_agent_ovsdb_connected{database="quantum"} 0`)
	})
	s.qdb.Start()
	pollUntil(t, "the reconnect counted and /readyz back", func() (string, bool) {
		m, _ := get("/metrics")
		body, ok := get("/readyz")
		return m + body, ok && strings.Contains(m, `quantum_agent_ovsdb_reconnects_total{database="quantum"} 1`) &&
			strings.Contains(m, `quantum_agent_ovsdb_connected{database="quantum"} 1`)
	})
}

func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

// pollUntil polls cond until it holds (generous deadline: the machine is
// shared) and returns its last value.
func pollUntil(t *testing.T, what string, cond func() (string, bool)) string {
	t.Helper()
	var last string
	if !testutil.Poll(90*time.Second, 200*time.Millisecond, func() (ok bool) { last, ok = cond(); return ok }) {
		t.Fatalf("timed out waiting for %s; last:\n%s", what, last)
	}
	return last
}

// promtoolCheck runs `promtool check metrics` on the scrape when promtool
// is installed (CI installs Debian's prometheus package for it).
func promtoolCheck(t *testing.T, metrics string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Error("promtool not installed (CI installs the prometheus package)")
		}
		t.Log("promtool not installed: only promlint ran")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(metrics)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestConfigFileSIGHUPAndJournal runs the agent as the packaged unit does
// (--config FILE) with its stderr as a journald stream: lines carry syslog
// priorities and no timestamp; SIGHUP applies a new log level at once and
// names the changed key that needs a restart; a broken file is refused at
// start naming the key and the file.
func TestConfigFileSIGHUPAndJournal(t *testing.T) {
	s := newSandbox(t)
	dir := filepath.Dir(s.socket)
	conf := filepath.Join(dir, "agent.conf")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(fmt.Sprintf("socket = %q\nmetrics_listen = \"\"\nlog_level = \"info\"\n", s.socket))
	stderr, err := os.Create(filepath.Join(dir, "journal.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(stderr.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	journal := fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino)
	// launch passes --log-level debug, which wins over the file's
	// log_level; libovsdb_log_level, set by no flag, is the live change.
	p := s.launch(t, launchOpts{env: []string{journal}, args: []string{"--config", conf}, waitSocket: s.socket, stderr: stderr})
	logText := func() string {
		b, err := os.ReadFile(stderr.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	pollUntil(t, "journal lines", func() (string, bool) {
		l := logText()
		return l, strings.Contains(l, "<6>level=INFO msg=\"starting quantum-agent\"")
	})
	for _, line := range strings.Split(strings.TrimSpace(logText()), "\n") {
		if !strings.HasPrefix(line, "<") || strings.Contains(line, "time=") {
			t.Errorf("not a journald line: %q", line)
		}
	}

	write(fmt.Sprintf("socket = %q\nmetrics_listen = \"\"\nlibovsdb_log_level = \"debug\"\nintegration_bridge = \"br-new\"\n", s.socket))
	if err := p.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "SIGHUP handled", func() (string, bool) {
		l := logText()
		return l, strings.Contains(l, `msg="SIGHUP: setting applied" key=libovsdb_log_level old=warn new=debug`) &&
			strings.Contains(l, `<4>level=WARN msg="SIGHUP: setting changed; it takes effect at the next restart" key=integration_bridge running=br-int file=br-new`)
	})
	// Still serving, and with the bridge it started with.
	if _, err := client.New(s.socket).Versions(ctxT(t)); err != nil {
		t.Errorf("API after SIGHUP: %v", err)
	}
	if err := p.term(t); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}

	write("datapath = \"vpp\"\n")
	out, err := exec.Command(filepath.Join(bins, "quantum-agent"), "--config", conf).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "datapath (in "+conf+")") || !strings.Contains(string(out), `"vpp"`) {
		t.Errorf("bad file at start: %v\n%s", err, out)
	}
}
