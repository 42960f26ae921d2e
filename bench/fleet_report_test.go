package bench

import (
	"fmt"
	"io"
)

// fleetResults are BenchmarkFleet's scenarios in the order they ran;
// readResults are BenchmarkReadLatency's rows.
var (
	fleetResults []fleetResult
	readResults  []readResult
)

func recordFleet(r fleetResult) {
	resMu.Lock()
	defer resMu.Unlock()
	fleetResults = append(fleetResults, r)
}

func recordRead(r readResult) {
	resMu.Lock()
	defer resMu.Unlock()
	readResults = append(readResults, r)
}

// ms is a duration in milliseconds, "–" for none.
func ms(d float64) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f ms", d)
}

func fleetTable(w io.Writer) {
	if len(fleetResults) == 0 {
		return
	}
	r0 := fleetResults[0]
	fmt.Fprintf(w, "### Fleet scale: K agents, %d attachments of other hosts preloaded, %d sequential plugs on one host\n\n", r0.preload, r0.plugs)
	fmt.Fprintln(w, "Linux-bridge agents, each in its own namespace, on a 3-member Raft Quantum DB; \"relay\": one OVSDB relay per",
		"BENCH_FLEET_PER_RELAY agents in front of it; \"members\": direct with --quantum-db-leader-only=false. Idle agents: the K-1 without the burst, measured from just before the first",
		"plug until every agent is quiet again. CPU from /proc/PID/stat (user+system); passes from /metrics",
		"(quantum_agent_reconcile_passes_total, every label summed); bytes: what a counting proxy between the agent and its",
		"remotes passed from the server to the agent, divided by the Raft log entries the leader appended during the burst",
		"(one per committed transaction); RSS: VmRSS after the burst; leader/relay CPU: their /proc/PID/stat over the burst",
		"divided by the plugs.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| agent | DB path | K | idle agents' CPU-s total (per agent) | passes per idle agent, mean (max) | bytes per idle agent per remote txn (per plug) | txns | idle VmRSS mean (max) | busy VmRSS | leader CPU per plug | relay CPU per plug | followers' CPU per plug | plug → UP p50 / p99 | burst | fleet ready |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range fleetResults {
		path := r.mode
		if r.relays > 0 {
			path = fmt.Sprintf("%d relay(s)", r.relays)
		}
		if r.p50 == 0 {
			fmt.Fprintf(w, "| %s | %s | %d | %s ||||||||||||\n", r.bin.label, path, r.k, r.note)
			continue
		}
		idle := "–"
		if r.idle > 0 {
			idle = fmt.Sprintf("%.2f s (%.3f s)", r.idleCPU, r.idleCPU/float64(r.idle))
		}
		passes, bytes, rss := "–", "–", "–"
		if r.idle > 0 {
			passes = fmt.Sprintf("%.1f (%.0f)", r.passesMean, r.passesMax)
			bytes = fmt.Sprintf("%.0f B (%.0f B)", r.bytesPerTxn, r.bytesPerPlug)
			rss = fmt.Sprintf("%.1f MiB (%.1f)", r.rssMean, r.rssMax)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %d | %s | %.1f MiB | %s | %s | %s | %.1f / %.1f ms | %.1f s | %.1f s |\n",
			r.bin.label, path, r.k, idle, passes, bytes, r.txns, rss, r.busyRSS, ms(r.leaderMsPlug), ms(r.relayMsPlug), ms(r.followersMsPlug),
			r.p50.Seconds()*1000, r.p99.Seconds()*1000, r.burst.Seconds(), r.startT.Seconds())
	}
	fmt.Fprintln(w)
	for _, r := range fleetResults {
		if r.note != "" && r.p50 != 0 {
			fmt.Fprintf(w, "- %s, %s, K=%d: %s\n", r.bin.label, r.mode, r.k, r.note)
		}
		if r.triggers != "" {
			fmt.Fprintf(w, "- %s, %s, K=%d: an idle agent's passes by trigger since its start: %s\n", r.bin.label, r.mode, r.k, r.triggers)
		}
	}
	fleetBinaries(w)
}

// fleetBinaries says which binary each label is.
func fleetBinaries(w io.Writer) {
	seen := map[string]bool{}
	for _, r := range append(append([]fleetResult(nil), fleetResults...), readBins()...) {
		if seen[r.bin.label] {
			continue
		}
		seen[r.bin.label] = true
		what := r.bin.path
		if r.bin.label == "this tree" {
			what = "cmd/quantum-agent built from this tree at " + treeVersion()
		}
		fmt.Fprintf(w, "- %s: %s\n", r.bin.label, what)
	}
	fmt.Fprintln(w)
}

func readBins() []fleetResult {
	var out []fleetResult
	for _, r := range readResults {
		out = append(out, fleetResult{bin: r.bin})
	}
	return out
}

func readTable(w io.Writer) {
	if len(readResults) == 0 {
		return
	}
	r0 := readResults[0]
	fmt.Fprintf(w, "### Reads of other hosts' rows (%d attachments of other hosts preloaded, %d sequential requests each, idle agent)\n\n", r0.preload, r0.n)
	fmt.Fprintln(w, "| agent | DB path | request | p50 | p99 | mean |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range readResults {
		fmt.Fprintf(w, "| %s | %s | %s | %.2f ms | %.2f ms | %.2f ms |\n", r.bin.label, r.mode, r.what,
			r.p50.Seconds()*1000, r.p99.Seconds()*1000, r.mean.Seconds()*1000)
	}
	fmt.Fprintln(w)
	if len(fleetResults) == 0 {
		fleetBinaries(w)
	}
}
