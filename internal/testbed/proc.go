package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// cmdTimeout bounds every command the test bed runs.
const cmdTimeout = 30 * time.Second

// Run runs a command and returns its combined output, failing the test on
// error.
func Run(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	out, err := RunErr(env, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// RunErr runs a command and returns its combined output and an error that
// quotes the command and its output.
func RunErr(env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// ReadPID reads a daemon's pidfile.
func ReadPID(pidfile string) (int, error) {
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("pidfile %s holds %q", pidfile, b)
	}
	return pid, nil
}

// StopPID stops the process of pidfile (SIGTERM, then SIGKILL if it still
// runs after grace) and waits for it to be gone. A missing pidfile means
// nothing runs.
func StopPID(pidfile string, grace time.Duration) error {
	pid, err := ReadPID(pidfile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !Alive(pid) {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop pid %d (%s): %w", pid, pidfile, err)
	}
	if waitGone(pid, grace) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if waitGone(pid, 5*time.Second) {
		return nil
	}
	return fmt.Errorf("pid %d (%s) survived SIGKILL", pid, pidfile)
}

// stopGrace is how long the test bed's own daemons get to exit on SIGTERM.
const stopGrace = 10 * time.Second

func waitGone(pid int, d time.Duration) bool {
	return testutil.Poll(d, testutil.PollInterval, func() bool { return !Alive(pid) })
}

// Alive reports whether pid runs (a zombie awaiting its reaper does not).
func Alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// comm may hold spaces: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
