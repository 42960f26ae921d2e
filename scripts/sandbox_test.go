// Package scripts tests the developer scripts (scripts/sandbox.sh, what
// `make run` runs) the way a user ends them: Ctrl-C, a closed terminal, kill,
// a reader of their output going away. It has no code of its own.
package scripts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// bins holds quantum-agent and quantumctl, built once (SANDBOX_BIN).
var bins string

func TestMain(m *testing.M) {
	if os.Geteuid() == 0 {
		dir, err := testbed.BuildBinaries("quantum-agent", "quantumctl")
		if err != nil {
			fmt.Fprintln(os.Stderr, "build binaries:", err)
			os.Exit(1)
		}
		bins = dir
	}
	code := m.Run()
	if bins != "" {
		os.RemoveAll(bins)
	}
	os.Exit(code)
}

// sandbox is one scripts/sandbox.sh run with a name of its own and a TMPDIR
// of its own, so that what it leaves behind can be listed exactly.
type sandbox struct {
	name   string   // SANDBOX_NAME: the namespaces are name-hv, name-vm1..3
	tmp    string   // its TMPDIR: the run directory is made in here
	args   []string // flags for the agent (sandbox.sh -- ARGS)
	cmd    *exec.Cmd
	out    *os.File // read end of the script's stdout+stderr
	mu     sync.Mutex
	output bytes.Buffer
	done   chan struct{} // closed when the script has exited
	eof    chan struct{} // closed when its output is read to the end
	err    error
	pids   map[string]int // what it started, by pidfile name
}

// scriptPath is sandbox.sh, beside this file (go test runs in the package's
// directory).
func scriptPath() string {
	p, _ := filepath.Abs("sandbox.sh")
	return p
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	return &sandbox{name: testbed.UniqueName("qsb"), tmp: testutil.ShortDir(t)}
}

func (s *sandbox) env() []string {
	return append(os.Environ(), "SANDBOX_NAME="+s.name, "TMPDIR="+s.tmp, "SANDBOX_BIN="+bins,
		"SANDBOX_NO_INSTALL=1") // a test never installs packages on the host
}

// start runs the script in a process group of its own (as a terminal's
// foreground job is) with stdout and stderr on one pipe, and waits until the
// agent answers on the sandbox's socket.
func (s *sandbox) start(t *testing.T) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s.out = r
	s.cmd = exec.Command(scriptPath())
	if len(s.args) > 0 {
		s.cmd.Args = append(append(s.cmd.Args, "--"), s.args...)
	}
	s.cmd.Env = s.env()
	s.cmd.Stdout, s.cmd.Stderr = w, w
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	s.done, s.eof = make(chan struct{}), make(chan struct{})
	go s.copyOutput()
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sandbox.sh output:\n%s", s.log())
		}
		s.kill()
	})
	s.waitAnswering(t)
}

func (s *sandbox) copyOutput() {
	defer close(s.eof)
	buf := make([]byte, 4096)
	for {
		n, err := s.out.Read(buf)
		s.mu.Lock()
		s.output.Write(buf[:n])
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (s *sandbox) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.output.String()
}

// logAfterExit is the script's whole output once it has exited (what is
// still in the pipe included).
func (s *sandbox) logAfterExit(t *testing.T) string {
	t.Helper()
	select {
	case <-s.eof:
	case <-time.After(10 * time.Second):
		t.Error("the script's output pipe is still open 10 s after it exited")
	}
	return s.log()
}

// runDir is the sandbox's temp dir (qsandbox.XXXXXX under its TMPDIR).
func (s *sandbox) runDir() string {
	m, _ := filepath.Glob(filepath.Join(s.tmp, "qsandbox.*"))
	if len(m) == 1 {
		return m[0]
	}
	return ""
}

func (s *sandbox) waitAnswering(t *testing.T) {
	t.Helper()
	ok := testutil.Poll(90*time.Second, 200*time.Millisecond, func() bool {
		select {
		case <-s.done:
			t.Fatalf("sandbox.sh exited before the agent answered: %v", s.err)
		default:
		}
		dir := s.runDir()
		if dir == "" {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := client.New(filepath.Join(dir, "quantum.sock")).Versions(ctx)
		return err == nil
	})
	if !ok {
		t.Fatal("the sandbox's agent never answered")
	}
	s.pids = map[string]int{"sandbox.sh": s.cmd.Process.Pid}
	for _, f := range []string{"agent.pid", "vswitchd.pid", "ovs-db.pid", "quantum-db.pid"} {
		pid, err := testbed.ReadPID(filepath.Join(s.runDir(), f))
		if err != nil {
			t.Fatalf("sandbox started without %s: %v", f, err)
		}
		s.pids[f] = pid
	}
}

// wait returns the script's exit status once it has ended.
func (s *sandbox) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(90 * time.Second):
		t.Fatal("sandbox.sh did not end")
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 0
}

// kill ends whatever is still running (a failed test): the script's group
// by SIGKILL, then `sandbox.sh clean` for what it started.
func (s *sandbox) kill() {
	select {
	case <-s.done:
	default:
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	_, _ = s.clean()
	s.out.Close()
}

func (s *sandbox) clean() (string, error) {
	cmd := exec.Command(scriptPath(), "clean")
	cmd.Env = s.env()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// leftovers lists what of the sandbox still exists: its namespaces, host
// links of its names, its processes (by PID) and its run directory.
func (s *sandbox) leftovers() []string {
	var left []string
	for _, suffix := range []string{"hv", "vm1", "vm2", "vm3"} {
		ns := s.name + "-" + suffix
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
			left = append(left, "netns "+ns)
		}
	}
	for _, link := range []string{"tapvm1", "tapvm2", "tapvm3"} {
		if _, err := os.Stat(filepath.Join("/sys/class/net", link)); err == nil {
			left = append(left, "host link "+link)
		}
	}
	for name, pid := range s.pids {
		if testbed.Alive(pid) {
			left = append(left, fmt.Sprintf("%s (pid %d)", name, pid))
		}
	}
	entries, _ := os.ReadDir(s.tmp)
	for _, e := range entries {
		left = append(left, "run dir "+filepath.Join(s.tmp, e.Name()))
	}
	return left
}

// TestSandboxCleansUpWhateverEndsIt starts the sandbox and ends it each way
// a user's session can end it; each time nothing of it may be left.
func TestSandboxCleansUpWhateverEndsIt(t *testing.T) {
	testbed.RequireRoot(t)
	cases := []struct {
		name   string
		end    func(t *testing.T, s *sandbox)
		status int
	}{
		// A terminal that closes hangs up its foreground process group.
		{"SIGHUP to the group", func(t *testing.T, s *sandbox) { signalGroup(t, s, syscall.SIGHUP) }, 129},
		// Ctrl-C: SIGINT to the group.
		{"SIGINT to the group", func(t *testing.T, s *sandbox) { signalGroup(t, s, syscall.SIGINT) }, 130},
		// kill PID.
		{"SIGTERM to the script", func(t *testing.T, s *sandbox) { signal(t, s.cmd.Process.Pid, syscall.SIGTERM) }, 143},
		// `make run | tee log` and tee killed: the next line anybody writes
		// raises SIGPIPE.
		{"SIGPIPE from a closed pipe", closeReaderAndRequest, 141},
		// The agent ends by itself: the script exits normally.
		{"agent exits", func(t *testing.T, s *sandbox) { signal(t, s.pids["agent.pid"], syscall.SIGTERM) }, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			s.start(t)
			tc.end(t, s)
			if got := s.wait(t); got != tc.status {
				t.Errorf("sandbox.sh exited with %d, want %d", got, tc.status)
			}
			if left := s.leftovers(); len(left) > 0 {
				t.Errorf("left behind: %s", strings.Join(left, ", "))
			}
			if tc.status != 141 && !strings.Contains(s.logAfterExit(t), "[sandbox] cleaned up") {
				t.Errorf("sandbox.sh did not say it cleaned up")
			}
		})
	}
}

func signal(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("kill -%d %d: %v", sig, pid, err)
	}
}

func signalGroup(t *testing.T, s *sandbox, sig syscall.Signal) {
	t.Helper()
	signal(t, -s.cmd.Process.Pid, sig)
}

// closeReaderAndRequest closes the reader of the script's output, then makes
// the agent write a line (it logs every request): the agent dies of SIGPIPE,
// the script's next message raises SIGPIPE in the script, which must still
// clean up. The request's own outcome does not matter.
func closeReaderAndRequest(t *testing.T, s *sandbox) {
	t.Helper()
	s.out.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = client.New(filepath.Join(s.runDir(), "quantum.sock")).Versions(ctx)
}

// TestSandboxRefusesAndCleans: a second sandbox of the same name is refused
// with the command that removes the first; after a SIGKILL (no cleanup can
// run) that command removes everything the killed one left.
func TestSandboxRefusesAndCleans(t *testing.T) {
	testbed.RequireRoot(t)
	s := newSandbox(t)
	s.start(t)

	second := exec.Command(scriptPath())
	second.Env = s.env()
	out, err := second.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("a second sandbox named %s: %v, want exit status 1\n%s", s.name, err, out)
	}
	want := "SANDBOX_NAME=" + s.name + " " + scriptPath() + " clean"
	if !strings.Contains(string(out), want) {
		t.Errorf("the refusal does not give the command %q:\n%s", want, out)
	}
	if strings.Contains(string(out), s.name+"2-") {
		t.Errorf("the second sandbox renamed itself:\n%s", out)
	}

	signal(t, -s.cmd.Process.Pid, syscall.SIGKILL)
	s.wait(t)
	if len(s.leftovers()) == 0 {
		t.Fatal("SIGKILL left nothing behind: the test proves nothing")
	}
	cleaned, err := s.clean()
	if err != nil {
		t.Fatalf("sandbox.sh clean: %v\n%s", err, cleaned)
	}
	if left := s.leftovers(); len(left) > 0 {
		t.Errorf("sandbox.sh clean left: %s\n%s", strings.Join(left, ", "), cleaned)
	}
}
