package bench

import (
	"fmt"
	"net/http"
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

// fleetAgent is one agent of the fleet benchmark: the real binary with the
// Linux-bridge datapath in its own hypervisor namespace, no interface
// mappings (its networks are local ones), reaching the Quantum DB through a
// counting proxy.
type fleetAgent struct {
	host    string
	netns   string
	socket  string
	proc    *testbed.Process
	proxy   *countingProxy
	metrics *http.Client
	api     *client.Client
}

// agentSample is what one agent has used so far.
type agentSample struct {
	cpu      float64 // CPU seconds, user+system (/proc/PID/stat)
	passes   float64 // reconcile passes, every trigger summed (/metrics)
	received int64   // bytes received from the Quantum DB (the proxy)
	rssKiB   int     // VmRSS
}

// startFleetAgent starts bin as host in netns, its Quantum DB remotes
// being upstreams (through a counting proxy), with extra flags; it does not
// wait for it.
func startFleetAgent(b *testing.B, bin, netns, host string, upstreams []string, extra ...string) *fleetAgent {
	b.Helper()
	dir := testutil.ShortDir(b) // the agent's socket and the proxy's
	proxy, remotes := newCountingProxy(b, dir, upstreams)
	a := &fleetAgent{host: host, netns: netns, socket: filepath.Join(dir, "q.sock"), proxy: proxy,
		metrics: metricsClientIn(netns)}
	args := append([]string{"netns", "exec", netns, bin,
		"--datapath", "linuxbridge", "--socket", a.socket, "--quantum-db", remotes, "--host", host,
		"--metrics-listen", metricsAddr, "--log-level", "warn"}, extra...)
	a.proc = testbed.StartProcess(b, "agent "+host, exec.Command("ip", args...))
	a.api = client.New(a.socket, client.WithTimeout(time.Minute))
	return a
}

// ready reports whether the agent's /readyz says ready; an exited agent
// is an error.
func (a *fleetAgent) ready() (bool, error) {
	select {
	case <-a.proc.Done():
		return false, fmt.Errorf("agent %s exited: %v; it logged last: %s", a.host, a.proc.Err(), a.lastLog())
	default:
	}
	resp, err := a.metrics.Get("http://" + metricsAddr + "/readyz")
	if err != nil {
		return false, nil
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// lastLog is the last line the agent wrote (it logs warnings and errors).
func (a *fleetAgent) lastLog() string {
	lines := strings.Split(strings.TrimSpace(a.proc.Log.String()), "\n")
	return lines[len(lines)-1]
}

// sample reads what the agent has used so far.
func (a *fleetAgent) sample() agentSample {
	s := agentSample{cpu: cpuSeconds(a.proc.PID()), received: a.proxy.Received()}
	s.rssKiB, _ = rssKiB(a.proc.PID())
	if m, err := scrapeMetrics(a.metrics, metricsAddr); err == nil {
		s.passes = m["quantum_agent_reconcile_passes_total"]
	}
	return s
}

// passesByTrigger is the reconcile-pass counter's series as the agent
// labels them ("" before the counter had labels).
func (a *fleetAgent) passesByTrigger() string {
	m, err := scrapeMetrics(a.metrics, metricsAddr)
	if err != nil {
		return ""
	}
	var parts []string
	for k, v := range m {
		if strings.HasPrefix(k, "quantum_agent_reconcile_passes_total{") {
			parts = append(parts, fmt.Sprintf("%s=%.0f", strings.TrimPrefix(k, "quantum_agent_reconcile_passes_total"), v))
		}
	}
	return strings.Join(parts, " ")
}

// stop kills the agent (by PID) and closes its proxy.
func (a *fleetAgent) stop() {
	a.proc.Kill()
	a.proxy.Close()
}

// memAvailableMiB is MemAvailable from /proc/meminfo (0 if unknown).
func memAvailableMiB() int {
	raw, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(raw)) {
		var kb int
		if _, err := fmt.Sscanf(line, "MemAvailable: %d kB", &kb); err == nil {
			return kb / 1024
		}
	}
	return 0
}
