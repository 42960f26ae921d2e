package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startPerf samples the call stacks of pids with `perf record` while a
// timed section runs, when BENCH_PERF_DIR names a directory: that is how
// the report's "where the time goes" was found. perf slows what it samples,
// so runs with it are for profiles, not for the timings. It returns the
// function that stops the recording; without BENCH_PERF_DIR both are no-ops.
func startPerf(b *testing.B, name string, pids ...int) func() {
	b.Helper()
	dir := os.Getenv("BENCH_PERF_DIR")
	if dir == "" {
		return func() {}
	}
	var ids []string
	for _, p := range pids {
		if p > 0 {
			ids = append(ids, fmt.Sprint(p))
		}
	}
	out := filepath.Join(dir, name+".data")
	cmd := exec.Command("perf", "record", "-q", "-F", "499", "-g", "-o", out, "-p", strings.Join(ids, ","))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Logf("perf record: %v (no profile)", err)
		return func() {}
	}
	time.Sleep(300 * time.Millisecond) // let perf attach
	return func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
		b.Logf("profile written: %s (perf report -i %s --no-children --sort comm,sym)", out, out)
	}
}
