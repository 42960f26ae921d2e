package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

const (
	tenant      = "bench"
	agentHost   = "bench-hv"
	metricsAddr = "127.0.0.1:9697" // the hypervisor namespace's own loopback
)

var (
	buildOnce sync.Once
	agentBin  string
	buildErr  error
)

// agentBinary builds cmd/quantum-agent once per test binary, the first
// time a benchmark needs it (a plain `go test` builds nothing).
// BENCH_AGENT_BIN=PATH benchmarks that binary instead (e.g. a candidate
// fix built elsewhere, side by side with this tree's).
func agentBinary(b *testing.B) string {
	b.Helper()
	if bin := os.Getenv("BENCH_AGENT_BIN"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		binDir, buildErr = testbed.BuildBinaries("quantum-agent")
		agentBin = filepath.Join(binDir, "quantum-agent")
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return agentBin
}

// binDir is removed by TestMain.
var binDir string

// agentSetup is a hypervisor with a Quantum DB and the agent's arguments.
type agentSetup struct {
	*hypervisor
	qdb    *testbed.DBServer
	dir    string
	socket string
}

func newAgentSetup(b *testing.B, devices int) *agentSetup {
	b.Helper()
	dir := testutil.ShortDir(b)
	h := newHypervisor(b, devices)
	qdb := testbed.StartQuantumDBAt(b, dir)
	return &agentSetup{hypervisor: h, qdb: qdb, dir: dir, socket: filepath.Join(dir, "quantum.sock")}
}

// startAgent starts the agent in the hypervisor's namespace and waits
// until its socket answers.
func (s *agentSetup) startAgent(b *testing.B) *testbed.Process {
	b.Helper()
	p := testbed.StartProcess(b, "agent", exec.Command("ip", "netns", "exec", s.ovs.NetNS, agentBinary(b),
		"--socket", s.socket, "--quantum-db", s.qdb.Endpoint, "--ovs-db", s.ovs.DBSocket,
		"--integration-bridge", bridge, "--ovs-datapath-type", "netdev",
		"--network-vlan-ranges", "physnet1:100:199", "--host", agentHost,
		"--metrics-listen", metricsAddr, "--log-level", "warn"))
	c := client.New(s.socket)
	p.WaitAnswering(b, 60*time.Second, func() error {
		_, err := c.Versions(context.Background())
		return err
	})
	return p
}

// rssKiB reads VmRSS and VmHWM from /proc/<pid>/status.
func rssKiB(pid int) (rss, hwm int) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(raw)) {
		var v int
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &v); err == nil {
			rss = v
		}
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &v); err == nil {
			hwm = v
		}
	}
	return rss, hwm
}

// metricsClient is an HTTP client for the agent's --metrics-listen
// address, which is on the loopback of the hypervisor's namespace: each
// connection is dialled from a thread switched into that namespace (the
// socket stays there).
func (s *agentSetup) metricsClient() *http.Client {
	ns := s.ovs.NetNS
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var conn net.Conn
			err := testbed.InNetNS(ns, func() (err error) {
				conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return conn, err
		},
	}}
}

// readyz returns a probe of the agent's /readyz.
func (s *agentSetup) readyz() func() bool {
	hc := s.metricsClient()
	return func() bool {
		resp, err := hc.Get("http://" + metricsAddr + "/readyz")
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

// reconcileStats reads the reconciler's pass count and total pass time
// from /metrics (zeros if it cannot).
func (s *agentSetup) reconcileStats() (passes, seconds float64) {
	resp, err := s.metricsClient().Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(raw)) {
		name, val, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(val, &v); err != nil {
			continue
		}
		switch base, _, _ := strings.Cut(name, "{"); base {
		case "quantum_agent_reconcile_passes_total": // summed over its trigger label
			passes += v
		case "quantum_agent_reconcile_pass_duration_seconds_sum":
			seconds = v
		}
	}
	return passes, seconds
}

// plugJob is one port to create and plug.
type plugJob struct {
	network string
	device  string
	ifaceID string
	mac     string
}

// plugAll creates a port and plugs it for every job, from workers
// goroutines; it returns the port ids in job order.
func plugAll(ctx context.Context, c *client.Client, jobs []plugJob, workers int) ([]string, error) {
	ports := make([]string, len(jobs))
	err := inParallel(len(jobs), workers, func(i int) error {
		j := jobs[i]
		port, err := c.CreatePort(ctx, tenant, j.network, client.StateActive)
		if err == nil {
			err = c.Plug(ctx, tenant, j.network, port, client.PlugRequest{ID: j.ifaceID, Device: j.device, MAC: j.mac})
		}
		if err != nil {
			return fmt.Errorf("create and plug port %d (%s): %w", i, j.device, err)
		}
		ports[i] = port
		return nil
	})
	return ports, err
}

// unplugAll unplugs every port from workers goroutines.
func unplugAll(ctx context.Context, c *client.Client, network string, ports []string, workers int) error {
	return inParallel(len(ports), workers, func(i int) error {
		if err := c.Unplug(ctx, tenant, network, ports[i]); err != nil {
			return fmt.Errorf("unplug port %s: %w", ports[i], err)
		}
		return nil
	})
}

// inParallel calls f(0) .. f(n-1) from workers goroutines and returns the
// first error. A failed call makes its worker drain the queue, so that few
// calls follow it.
func inParallel(n, workers int, f func(i int) error) error {
	next := make(chan int)
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					errc <- err
					for range next { // drain
					}
					return
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errc)
	return <-errc
}

// waitStatus polls the attachments of networks until every one of want
// attachments has left PROVISIONING and, when status is not empty, has that
// status. A FAILED attachment ends the wait with an error.
func waitStatus(ctx context.Context, c *client.Client, networks []string, want int, status string) (map[string]int, error) {
	for {
		counts := map[string]int{}
		total := 0
		for _, n := range networks {
			atts, err := c.ListAttachments(ctx, tenant, n)
			if err != nil {
				return nil, err
			}
			for _, a := range atts {
				counts[a.Status]++
				total++
				if a.Status == client.StatusFailed {
					return counts, fmt.Errorf("attachment %s on %s FAILED: %s", a.ID, a.Device, a.Reason)
				}
			}
		}
		done := total >= want && counts[client.StatusProvisioning] == 0
		if status != "" {
			done = counts[status] >= want
		}
		if done {
			return counts, nil
		}
		select {
		case <-ctx.Done():
			return counts, fmt.Errorf("waiting for %d attachments %s: %w (now %v)", want, status, ctx.Err(), counts)
		case <-time.After(statusPoll):
		}
	}
}

// statusPoll is how often waitStatus lists the attachments: often enough
// for a fine end time, rarely enough not to load the agent.
const statusPoll = 50 * time.Millisecond

func macOf(i int) string {
	return fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", (i>>16)&0xff, (i>>8)&0xff, i&0xff)
}
