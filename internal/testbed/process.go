package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// BuildBinaries builds the module's commands (e.g. "quantum-agent",
// "quantumctl" under cmd/) into a fresh directory and returns it; the
// caller removes it. It takes no testing.TB: TestMain and sync.Once call it.
func BuildBinaries(cmds ...string) (string, error) {
	root, err := findModuleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "qa-bin-")
	if err != nil {
		return "", err
	}
	args := []string{"build", "-o", dir + "/"}
	for _, c := range cmds {
		args = append(args, "./cmd/"+c)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("go %v: %w: %s", args, err, out)
	}
	return dir, nil
}

// Process is a daemon a test started (the agent, usually under
// `ip netns exec`, which execs it: the PID is the daemon's).
type Process struct {
	Cmd  *exec.Cmd
	Log  *testutil.SyncBuffer // its output, unless Cmd already sent it elsewhere
	done chan struct{}
	err  error
}

// StartProcess starts cmd; the test's cleanup kills it and, if the test
// failed, logs what it wrote under name.
func StartProcess(t testing.TB, name string, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{Cmd: cmd, Log: &testutil.SyncBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.Log
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.Log
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.Log.String())
		}
	})
	return p
}

// PID is the process's id.
func (p *Process) PID() int { return p.Cmd.Process.Pid }

// Done is closed when the process has exited; Err then says how.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the exit error (nil for exit code 0); read it after Done.
func (p *Process) Err() error { return p.err }

// Kill stops the process with SIGKILL and waits for it.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Term sends SIGTERM and returns the exit error; it fails the test if the
// process has not exited within d.
func (p *Process) Term(t testing.TB, d time.Duration) error {
	t.Helper()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		t.Fatalf("process did not exit within %s of SIGTERM", d)
		return nil
	}
}

// WaitAnswering returns once probe succeeds (e.g. the agent's API answers);
// it fails the test if the process exits first or probe still fails after d.
func (p *Process) WaitAnswering(t testing.TB, d time.Duration, probe func() error) {
	t.Helper()
	var last error
	exited := false
	ok := testutil.Poll(d, testutil.PollInterval, func() bool {
		if last = probe(); last == nil {
			return true
		}
		select {
		case <-p.done:
			exited = true
			return true
		default:
			return false
		}
	})
	switch {
	case exited:
		t.Fatalf("process exited at start: %v\n%s", p.err, p.Log.String())
	case !ok:
		t.Fatalf("process never answered within %s: %v\n%s", d, last, p.Log.String())
	}
}

// findModuleRoot is the nearest directory above the working directory that
// holds go.mod.
func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("testbed: no go.mod above %s", dir)
		}
		dir = parent
	}
}
