package bench

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The benchmarks record what they measured here; TestMain prints it as
// Markdown tables, ratios side by side, after the run (and writes it to
// $BENCH_REPORT when set).

var (
	resMu   sync.Mutex
	timings = map[wireKey]float64{}            // seconds: the median of the runs
	allRuns = map[wireKey][]float64{}          // every run, in order
	cpus    = map[wireKey]map[string]float64{} // process -> CPU seconds, of the median run
	scalars = map[string]float64{}
	notes   = map[string]string{}
)

type wireKey struct {
	n          int
	mode, what string // mode: agent, vsctl-per-port, vsctl-batch; what: wire, unplug, requests
}

// record adds one run's value; timings keeps the median so far.
func record(n int, mode, what string, secs float64) {
	resMu.Lock()
	defer resMu.Unlock()
	k := wireKey{n, mode, what}
	allRuns[k] = append(allRuns[k], secs)
	timings[k] = median(allRuns[k])
}

// recordCPU keeps the CPU use of the run whose time (recorded just
// before) is now the median.
func recordCPU(n int, mode, what string, used map[string]float64) {
	resMu.Lock()
	defer resMu.Unlock()
	k := wireKey{n, mode, what}
	vals := allRuns[k]
	if len(vals) > 0 && vals[len(vals)-1] == timings[k] {
		cpus[k] = used
	}
}

func median(vals []float64) float64 {
	s := slices.Clone(vals)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// spread shows every run of k when there was more than one.
func spread(k wireKey) string {
	vals := allRuns[k]
	if len(vals) < 2 {
		return ""
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = fmt.Sprintf("%.2f", v)
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func recordScalar(key string, v float64) {
	resMu.Lock()
	defer resMu.Unlock()
	scalars[key] = v
}

func recordNote(key, v string) {
	resMu.Lock()
	defer resMu.Unlock()
	notes[key] = v
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if report := buildReport(); report != "" {
		fmt.Print("\n" + report)
		if path := os.Getenv("BENCH_REPORT"); path != "" {
			if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "write report:", err)
				code = 1
			}
		}
	}
	os.Exit(code)
}

func buildReport() string {
	resMu.Lock()
	defer resMu.Unlock()
	if len(timings) == 0 && len(scalars) == 0 && len(fleetResults) == 0 && len(readResults) == 0 {
		return ""
	}
	var w strings.Builder
	fmt.Fprintf(&w, "## Datapath benchmark results (%s)\n\n", time.Now().Format("2006-01-02 15:04"))
	machineFacts(&w)
	if len(timings) > 0 {
		wireTable(&w)
		unplugTable(&w)
	}
	cpuTable(&w)
	scalarTables(&w)
	fleetTable(&w)
	readTable(&w)
	return w.String()
}

func machineFacts(w io.Writer) {
	mem := "?"
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(raw), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	kernel, _ := exec.Command("uname", "-r").Output()
	ovs, _ := exec.Command("ovs-vswitchd", "--version").Output()
	ovsLine, _, _ := strings.Cut(string(ovs), "\n")
	agent := "quantum-agent built from this tree at " + treeVersion()
	if bin := os.Getenv("BENCH_AGENT_BIN"); bin != "" {
		agent = "quantum-agent binary " + bin
	}
	fmt.Fprintf(w, "Machine: %d CPUs (nproc), %s RAM, kernel %s, %s, %s; %s.\n", runtime.NumCPU(), mem,
		strings.TrimSpace(string(kernel)), strings.TrimSpace(ovsLine), runtime.Version(), agent)
	fmt.Fprintf(w, "OVS: userspace datapath (br-int datapath_type=netdev), other_config:userspace-tso-enable=true; "+
		"devices are veth pairs made before timing, both ends up, IPv6 disabled on them (disable_ipv6=1); "+
		"API driven by %d concurrent client goroutines.\n\n", clientWorkers)
}

// treeVersion is the commit the tree is at, "+changes" when files differ.
func treeVersion() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty=+changes").Output()
	if err != nil {
		return "unknown commit"
	}
	return "commit " + strings.TrimSpace(string(out))
}

func wireSizes() []int {
	var ns []int
	for k := range timings {
		if !slices.Contains(ns, k.n) {
			ns = append(ns, k.n)
		}
	}
	slices.Sort(ns)
	return ns
}

func secs(v float64, ok bool) string {
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.2f s", v)
}

// secsK is secs of k's median with every run in brackets.
func secsK(k wireKey) string {
	v, ok := timings[k]
	return secs(v, ok) + spread(k)
}

func ratio(num, den float64, ok bool) string {
	if !ok || den == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", num/den)
}

func wireTable(w io.Writer) {
	fmt.Fprintln(w, "### Wiring N devices into br-int")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Median of the runs, every run in brackets; ratios are of the medians.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| N | agent via API, all UP | (of which: requests answered) | ovs-vsctl per port | ovs-vsctl one transaction | per-port ÷ agent (target ≥ 30×) | agent ÷ one transaction (target ≤ 2×) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, n := range wireSizes() {
		a, okA := timings[wireKey{n, "agent", "wire"}]
		r, okR := timings[wireKey{n, "agent", "requests"}]
		p, okP := timings[wireKey{n, "vsctl-per-port", "wire"}]
		c, okC := timings[wireKey{n, "vsctl-batch", "wire"}]
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s |\n", n, secsK(wireKey{n, "agent", "wire"}), secs(r, okR), secs(p, okP),
			secsK(wireKey{n, "vsctl-batch", "wire"}), ratio(p, a, okA && okP), ratio(a, c, okA && okC))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Agent reconciler during the wiring runs (from its /metrics):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| N | reconcile passes | time inside passes |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, n := range wireSizes() {
		if p, ok := timings[wireKey{n, "agent", "passes"}]; ok {
			fmt.Fprintf(w, "| %d | %.0f | %.2f s |\n", n, p, timings[wireKey{n, "agent", "pass-time"}])
		}
	}
	fmt.Fprintln(w)
}

func unplugTable(w io.Writer) {
	fmt.Fprintln(w, "### Unplugging all N")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| N | agent via API, until the OVS ports are gone | one ovs-vsctl del-port transaction | agent ÷ transaction |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, n := range wireSizes() {
		a, okA := timings[wireKey{n, "agent", "unplug"}]
		c, okC := timings[wireKey{n, "vsctl-batch", "unplug"}]
		if !okA && !okC {
			continue
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s |\n", n, secsK(wireKey{n, "agent", "unplug"}), secsK(wireKey{n, "vsctl-batch", "unplug"}),
			ratio(a, c, okA && okC))
	}
	fmt.Fprintln(w)
}

func cpuTable(w io.Writer) {
	if len(cpus) == 0 {
		return
	}
	procs := []string{"ovs-vswitchd", "ovsdb-server (Open_vSwitch)", "quantum-agent", "ovsdb-server (Quantum DB)"}
	fmt.Fprintln(w, "### CPU seconds used during the median run (user+system, from /proc/PID/stat)")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| N | run | wall | %s |\n", strings.Join(procs, " | "))
	fmt.Fprintf(w, "|---|---|---|%s\n", strings.Repeat("---|", len(procs)))
	var keys []wireKey
	for k := range cpus {
		keys = append(keys, k)
	}
	order := map[string]int{"agent": 0, "vsctl-per-port": 1, "vsctl-batch": 2}
	slices.SortFunc(keys, func(a, b wireKey) int {
		if a.n != b.n {
			return a.n - b.n
		}
		if a.what != b.what {
			return strings.Compare(b.what, a.what) // wire before unplug
		}
		return order[a.mode] - order[b.mode]
	})
	for _, k := range keys {
		fmt.Fprintf(w, "| %d | %s %s | %.2f s |", k.n, k.mode, k.what, timings[k])
		for _, p := range procs {
			if v, ok := cpus[k][p]; ok {
				fmt.Fprintf(w, " %.2f |", v)
			} else {
				fmt.Fprint(w, " – |")
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func scalarTables(w io.Writer) {
	get := func(k, format string) string {
		v, ok := scalars[k]
		if !ok {
			return "–"
		}
		return fmt.Sprintf(format, v)
	}
	if _, ok := scalars["latency/p50-ms"]; ok {
		fmt.Fprintf(w, "### Single attach, plug request to UP (%d sequential plugs, idle agent)\n\n", latencyPlugs)
		fmt.Fprintln(w, "| attach | median | p99 | min | max |")
		fmt.Fprintln(w, "|---|---|---|---|---|")
		for _, row := range []struct{ key, what string }{
			{"latency", "agent: PUT attachment, then GET attachment?wait=UP"},
			{"latency-vsctl", "one ovs-vsctl add-port (waits for vswitchd), for comparison"},
		} {
			if _, ok := scalars[row.key+"/p50-ms"]; !ok {
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", row.what, get(row.key+"/p50-ms", "%.1f ms"), get(row.key+"/p99-ms", "%.1f ms"),
				get(row.key+"/min-ms", "%.1f ms"), get(row.key+"/max-ms", "%.1f ms"))
		}
		fmt.Fprintln(w)
	}
	if _, ok := scalars["rss/rss-MiB"]; ok {
		fmt.Fprintln(w, "### Agent memory with 10,000 ports (10 networks × 1,000 ports + attachments; devices absent: DOWN)")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| VmRSS idle | VmRSS at 10,000 | VmHWM (peak) | 20,000 requests answered | all settled | statuses |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|")
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n\n", get("rss/idle-MiB", "%.1f MiB"), get("rss/rss-MiB", "%.1f MiB"),
			get("rss/hwm-MiB", "%.1f MiB"), get("rss/requests-s", "%.1f s"), get("rss/settled-s", "%.1f s"), notes["rss/statuses"])
	}
	if _, ok := scalars["restart/ready-s"]; ok {
		fmt.Fprintf(w, "### Restart with %d attached ports (veth devices, all UP)\n\n", restartPorts)
		fmt.Fprintln(w, "| wiring all via API | VmRSS before | SIGTERM to exit | start to socket answering | start to /readyz ready | interfaces | ofports changed |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n\n", get("restart/wire-s", "%.1f s"), get("restart/rss-MiB", "%.1f MiB"),
			get("restart/sigterm-exit-s", "%.2f s"), get("restart/socket-s", "%.2f s"), get("restart/ready-s", "%.2f s"),
			get("restart/interfaces", "%.0f"), get("restart/ofports-changed", "%.0f"))
	}
}
