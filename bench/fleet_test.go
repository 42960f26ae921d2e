package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
)

// fleetConfig is what BenchmarkFleet runs, from the environment.
type fleetConfig struct {
	ks       []int    // BENCH_FLEET_K: agents per scenario (default 1,10,40)
	modes    []string // BENCH_FLEET_MODES: direct, relay, members (default direct,relay)
	preload  int      // BENCH_FLEET_PRELOAD: attachments of other hosts (default 50,000)
	plugs    int      // BENCH_FLEET_PLUGS: the burst on the busy host (default 500)
	perRelay int      // BENCH_FLEET_PER_RELAY: agents per relay (default 20)
	// BENCH_FLEET_READY_MINUTES: how long agents may take to be ready
	// (default 10); a scenario whose agents are not is reported as such.
	ready time.Duration
	bins  []fleetBin
}

// fleetBin is one agent binary the run compares.
type fleetBin struct{ label, path string }

// fleetWave is how many agents start at once: the next wave starts when
// these are ready. Hypervisors do not all boot in the same second, and on
// two cores forty agents starting together starve each other (and their
// DB) until some give up at start.
const fleetWave = 10

// memFloorMiB is the MemAvailable below which no further agent is
// started: the scenario is reported as cut short instead of the machine
// swapping (today's design holds the whole DB in every agent).
const memFloorMiB = 2048

func fleetConfigFromEnv(b *testing.B) fleetConfig {
	b.Helper()
	c := fleetConfig{
		ks:       envInts(b, "BENCH_FLEET_K", "1,10,40"),
		modes:    strings.Split(envOr("BENCH_FLEET_MODES", "direct,relay"), ","),
		preload:  envInts(b, "BENCH_FLEET_PRELOAD", "50000")[0],
		plugs:    envInts(b, "BENCH_FLEET_PLUGS", "500")[0],
		perRelay: envInts(b, "BENCH_FLEET_PER_RELAY", "20")[0],
		ready:    time.Duration(envInts(b, "BENCH_FLEET_READY_MINUTES", "10")[0]) * time.Minute,
		bins:     []fleetBin{{"this tree", treeAgentBinary(b)}},
	}
	if p := os.Getenv("BENCH_AGENT_BIN"); p != "" {
		c.bins = append(c.bins, fleetBin{"BENCH_AGENT_BIN", p})
	}
	for _, m := range c.modes {
		if m != "direct" && m != "relay" && m != "members" {
			b.Fatalf("BENCH_FLEET_MODES: %q is none of direct, relay, members", m)
		}
	}
	return c
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInts(b *testing.B, name, def string) []int {
	b.Helper()
	var out []int
	for _, f := range strings.Split(envOr(name, def), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("%s: %q is not a positive integer", name, f)
		}
		out = append(out, n)
	}
	return out
}

// fleetEnv is what the scenarios share: the cluster with the preloaded
// fleet, the idle hypervisors (reused: an idle agent makes nothing in its
// namespace) and the busy one with its devices.
type fleetEnv struct {
	b       *testing.B
	cfg     fleetConfig
	cluster *testbed.Cluster
	pre     preloaded
	idle    []*testbed.LBHost
	busy    *testbed.LBHost
	devs    []string
	runs    int
	// burstNet is the network of the scenario's burst, "" when none.
	burstNet string
}

// BenchmarkFleet is issue 10's fleet benchmark (make bench-fleet): K real
// agents, each in its own Linux-bridge hypervisor namespace, on a 3-member
// Raft Quantum DB preloaded with attachments of other hosts, connected
// directly or through relays (one per BENCH_FLEET_PER_RELAY agents). One
// agent (the busy host) takes a burst of sequential plugs; the other K-1
// are idle: the benchmark reports what the burst cost them (CPU, reconcile
// passes, bytes received per remote transaction, RSS), what it cost the
// leader per plug, and the busy host's plug → UP latency. Each binary
// (this tree's, and BENCH_AGENT_BIN's) runs every scenario on the same
// cluster in the same run.
func BenchmarkFleet(b *testing.B) {
	testbed.RequireRoot(b)
	cfg := fleetConfigFromEnv(b)
	for range b.N {
		b.StopTimer()
		e := &fleetEnv{b: b, cfg: cfg, cluster: testbed.StartQuantumCluster(b, 3)}
		start := time.Now()
		e.pre = preloadFleet(b, e.cluster.Leader().Endpoint, cfg.preload)
		b.Logf("preloaded %d attachments of %d hosts in %d networks in %.1f s", cfg.preload, e.pre.hosts, len(e.pre.networks), time.Since(start).Seconds())
		e.busy = testbed.StartLBHost(b)
		e.devs = addLBDevices(b, e.busy.NetNS, cfg.plugs)
		// A binary whose agents were not ready at some K in a mode is not
		// started again at a larger K in that mode (today's agent cannot
		// start at 50,000 rows: each try would wait out the ready bound).
		notReady := map[string]int{}
		for _, k := range cfg.ks {
			for _, mode := range cfg.modes {
				for _, bin := range cfg.bins {
					if mode == "members" && bin.label != "this tree" {
						recordFleet(fleetResult{bin: bin, mode: mode, k: k, preload: cfg.preload, plugs: cfg.plugs,
							note: "not run: --quantum-db-leader-only is this tree's flag"})
						continue
					}
					if prev, ok := notReady[bin.label+"/"+mode]; ok {
						recordFleet(fleetResult{bin: bin, mode: mode, k: k, preload: cfg.preload, plugs: cfg.plugs,
							note: fmt.Sprintf("not run: not ready at K=%d", prev)})
						continue
					}
					r := e.run(bin, mode, k)
					if strings.HasPrefix(r.note, "not ready") {
						notReady[bin.label+"/"+mode] = k
					}
					recordFleet(r)
					b.Logf("%s %s K=%d: %s", bin.label, mode, k, r.summary())
				}
			}
		}
	}
}

// addLBDevices makes n veth pairs in ns, both ends up (the hypervisor
// end is what gets plugged; the peer gives it carrier).
func addLBDevices(b *testing.B, ns string, n int) []string {
	b.Helper()
	var script bytes.Buffer
	var devs []string
	for i := range n {
		dev := fmt.Sprintf("qfb%05d", i)
		fmt.Fprintf(&script, "link add %s type veth peer name qfp%05d\nlink set %s up\nlink set qfp%05d up\n", dev, i, dev, i)
		devs = append(devs, dev)
	}
	ipBatch(b, ns, script.Bytes())
	return devs
}

// fleetResult is one scenario's measurements.
type fleetResult struct {
	bin          fleetBin
	mode         string
	k, relays    int
	preload      int
	plugs        int
	idle         int
	idleCPU      float64 // CPU-s of all idle agents over the burst
	passesMean   float64 // reconcile passes per idle agent over the burst
	passesMax    float64
	bytesPerTxn  float64 // bytes per idle agent per remote transaction
	bytesPerPlug float64
	txns         int64 // Raft log entries the leader appended over the burst
	rssMean      float64
	rssMax       float64
	busyRSS      float64
	leaderMsPlug float64
	relayMsPlug  float64
	// followersMsPlug is the other members' CPU per plug (summed): in
	// "members" mode they serve agents too.
	followersMsPlug float64
	p50, p99        time.Duration
	burst, startT   time.Duration
	triggers        string // an idle agent's passes by trigger, when labelled
	note            string
}

func (r fleetResult) summary() string {
	if r.note != "" && r.p50 == 0 {
		return r.note
	}
	return fmt.Sprintf("idle CPU %.2f s, passes/idle %.1f, bytes/idle/txn %.0f, RSS %.1f MiB, leader %.2f ms/plug, p50 %.1f ms",
		r.idleCPU, r.passesMean, r.bytesPerTxn, r.rssMean, r.leaderMsPlug, r.p50.Seconds()*1000)
}

// run is one scenario: start the fleet, settle, burst, settle, measure,
// stop everything and remove the burst's rows.
func (e *fleetEnv) run(bin fleetBin, mode string, k int) fleetResult {
	b := e.b
	b.Helper()
	e.runs++
	r := fleetResult{bin: bin, mode: mode, k: k, preload: e.cfg.preload, plugs: e.cfg.plugs, idle: k - 1}
	upstreams := func(int) []string { return strings.Split(e.cluster.Endpoints(), ",") }
	// "members" is direct with --quantum-db-leader-only=false: each agent
	// stays on the member it reaches (spread by host), and libovsdb does not
	// monitor _Server, whose Database row (its Raft index) changes at every
	// commit and so reaches every leader-only client.
	var args []string
	if mode == "members" {
		args = []string{"--quantum-db-leader-only=false"}
	}
	var relays []*testbed.Relay
	if mode == "relay" {
		r.relays = (k + e.cfg.perRelay - 1) / e.cfg.perRelay
		for range r.relays {
			relays = append(relays, e.cluster.StartRelay())
		}
		upstreams = func(i int) []string { return []string{relays[i%len(relays)].Endpoint} }
	}
	defer func() {
		for _, rl := range relays {
			rl.Stop()
		}
	}()
	for len(e.idle) < k-1 {
		e.idle = append(e.idle, testbed.StartLBHost(b))
	}

	start := time.Now()
	agents := []*fleetAgent{startFleetAgent(b, bin.path, e.busy.NetNS, fmt.Sprintf("fleet-busy-%d", e.runs), upstreams(0), args...)}
	defer func() {
		for _, a := range agents {
			a.stop()
		}
		e.resetBusyHost()
	}()
	for i := 1; i < k; i++ {
		if avail := memAvailableMiB(); avail < memFloorMiB {
			r.note = fmt.Sprintf("cut short: MemAvailable %d MiB after %d agents", avail, len(agents))
			return r
		}
		agents = append(agents, startFleetAgent(b, bin.path, e.idle[i-1].NetNS, fmt.Sprintf("fleet-hv%03d", i), upstreams(i), args...))
		if len(agents)%fleetWave == 0 {
			if err := waitFleetReady(agents[len(agents)-fleetWave:], e.cfg.ready); err != nil {
				r.note = "not ready: " + err.Error()
				return r
			}
		}
	}
	if err := waitFleetReady(agents, e.cfg.ready); err != nil {
		r.note = "not ready: " + err.Error()
		return r
	}
	r.startT = time.Since(start)
	idle := agents[1:]
	waitQuiet(agents)

	leader := e.cluster.Leader()
	before := sampleAll(idle)
	leaderCPU0, log0 := cpuSeconds(leader.PID()), raftLastIndex(leader.Status())
	relayCPU0 := relaysCPU(relays)
	followers := e.followers(leader)
	followersCPU0 := membersCPU(followers)
	lat, burst, err := e.burst(agents[0].api)
	if err != nil {
		r.note = err.Error()
		return r
	}
	r.burst = burst
	waitQuiet(agents)
	after := sampleAll(idle)
	if l := e.cluster.Leader(); l != leader {
		r.note = "the leader changed during the burst"
	}
	r.txns = raftLastIndex(leader.Status()) - log0
	r.leaderMsPlug = (cpuSeconds(leader.PID()) - leaderCPU0) * 1000 / float64(r.plugs)
	if relays != nil {
		r.relayMsPlug = (relaysCPU(relays) - relayCPU0) * 1000 / float64(r.plugs)
	}
	r.followersMsPlug = (membersCPU(followers) - followersCPU0) * 1000 / float64(r.plugs)
	slices.Sort(lat)
	r.p50, r.p99 = percentile(lat, 50), percentile(lat, 99)
	r.busyRSS = float64(agents[0].sample().rssKiB) / 1024
	var received float64
	for i := range idle {
		d := after[i].passes - before[i].passes
		r.idleCPU += after[i].cpu - before[i].cpu
		r.passesMean += d
		r.passesMax = max(r.passesMax, d)
		received += float64(after[i].received - before[i].received)
		rss := float64(after[i].rssKiB) / 1024
		r.rssMean += rss
		r.rssMax = max(r.rssMax, rss)
	}
	if n := float64(len(idle)); n > 0 {
		r.passesMean /= n
		r.rssMean /= n
		r.bytesPerPlug = received / n / float64(r.plugs)
		if r.txns > 0 {
			r.bytesPerTxn = received / n / float64(r.txns)
		}
		r.triggers = idle[0].passesByTrigger()
	}
	return r
}

// followers are the members but leader.
func (e *fleetEnv) followers(leader *testbed.Member) []*testbed.Member {
	var out []*testbed.Member
	for _, m := range e.cluster.Members {
		if m != leader {
			out = append(out, m)
		}
	}
	return out
}

// burst creates a local network through the busy agent, then plugs one
// device after another: each timed from the plug request to its
// attachment UP (the port is created before, untimed).
func (e *fleetEnv) burst(c *client.Client) ([]time.Duration, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	netID, err := c.CreateNetwork(ctx, tenant, client.NetworkRequest{Name: fmt.Sprintf("burst%d", e.runs), NetworkType: "local"})
	if err != nil {
		return nil, 0, fmt.Errorf("create the burst network: %w", err)
	}
	e.burstNet = netID // resetBusyHost removes it
	lat := make([]time.Duration, 0, len(e.devs))
	for i, dev := range e.devs {
		port, err := c.CreatePort(ctx, tenant, netID, client.StateActive)
		if err != nil {
			return nil, 0, fmt.Errorf("create port %d: %w", i, err)
		}
		t0 := time.Now()
		if err := c.Plug(ctx, tenant, netID, port, client.PlugRequest{ID: fmt.Sprintf("vif-burst%d-%05d", e.runs, i), Device: dev, MAC: macOf(i)}); err != nil {
			return nil, 0, fmt.Errorf("plug %d (%s): %w", i, dev, err)
		}
		att, err := c.WaitAttachment(ctx, tenant, netID, port, client.StatusUp, time.Minute)
		if err != nil || att == nil || att.Status != client.StatusUp {
			return nil, 0, fmt.Errorf("plug %d (%s): attachment %+v, %v", i, dev, att, err)
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, time.Since(start), nil
}
