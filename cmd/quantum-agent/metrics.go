package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/api"
	"github.com/quantum-agent/quantum-agent/internal/dbconn"
)

// parts are the running pieces the status, readiness and metrics read.
type parts struct {
	store *agent.Store
	dp    agent.Datapath
	rec   *agent.Reconciler
	agent *agent.Agent
}

// newMetrics builds the agent's registry: Go and process collectors, build
// info, the agent's and the API's metrics, and the state gauges computed
// at scrape time. It is built even without --metrics-listen (the counters
// cost nothing) so the wiring has one shape.
func (d *daemon) newMetrics(ag *agent.Agent, dp agent.Datapath) (*prometheus.Registry, *agent.Metrics, *api.Metrics) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "quantum_agent_build_info",
		Help: "Always 1; the labels say which quantum-agent runs.",
		ConstLabels: prometheus.Labels{
			"version": version, "goversion": runtime.Version(), "datapath": d.cfg.Datapath,
		},
	}, func() float64 { return 1 }))
	reg.MustRegister(agent.NewStateCollector(ag))
	rc := &robustnessCollector{d: d, store: ag.Store()}
	if c, ok := dp.(agent.ConnectionReporter); ok {
		rc.dp = c
	}
	reg.MustRegister(rc)
	return reg, agent.NewMetrics(reg), api.NewMetrics(reg)
}

// robustnessCollector exports, at scrape time, the counters kept by the
// connection supervisors (internal/dbconn) and the panic guard.
type robustnessCollector struct {
	d     *daemon
	store *agent.Store
	dp    agent.ConnectionReporter // nil: the datapath has no database of its own
}

var (
	// One series, always present (the log names the component and has the
	// stack): a series per component would appear only after its first panic.
	panicsDesc = prometheus.NewDesc("quantum_agent_recovered_panics_total",
		"Panics recovered in calls into libovsdb or netlink (the operation failed and was retried).",
		nil, nil)
	probeFailuresDesc = prometheus.NewDesc("quantum_agent_ovsdb_probe_failures_total",
		"OVSDB echo probes that failed or were not answered in time, by database.",
		[]string{"database"}, nil)
	failoversDesc = prometheus.NewDesc("quantum_agent_ovsdb_failovers_total",
		"Times an OVSDB endpoint that stopped answering was taken out of the list to reach another member, by database.",
		[]string{"database"}, nil)
)

func (c *robustnessCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- panicsDesc
	ch <- probeFailuresDesc
	ch <- failoversDesc
}

func (c *robustnessCollector) Collect(ch chan<- prometheus.Metric) {
	var panics uint64
	for _, n := range c.d.panics.Counts() {
		panics += n
	}
	ch <- prometheus.MustNewConstMetric(panicsDesc, prometheus.CounterValue, float64(panics))
	conn := func(db string, st dbconn.Stats) {
		ch <- prometheus.MustNewConstMetric(probeFailuresDesc, prometheus.CounterValue, float64(st.ProbeFailures), db)
		ch <- prometheus.MustNewConstMetric(failoversDesc, prometheus.CounterValue, float64(st.Failovers), db)
	}
	conn("quantum", c.store.ConnStats())
	if c.dp != nil {
		conn("open_vswitch", c.dp.ConnStats())
	}
}

// watchConnections keeps the OVSDB connection metrics current.
func (d *daemon) watchConnections(ctx context.Context, wg *sync.WaitGroup, m *agent.Metrics, p *parts) {
	watch := func(db string, connected func() bool) {
		wg.Add(1)
		go func() { defer wg.Done(); m.WatchConnection(ctx, db, connected, time.Second, d.log) }()
	}
	watch("quantum", p.store.Connected)
	if c, ok := p.dp.(agent.ConnectionReporter); ok {
		watch("open_vswitch", c.Connected)
	}
}

// readiness is nil when the agent is synced and connected, else why not.
func readiness(p *parts) error {
	if !p.store.Connected() {
		return fmt.Errorf("Quantum DB: %s", p.store.Health())
	}
	if err := p.dp.Ready(); err != nil {
		return fmt.Errorf("datapath: %w", err)
	}
	return p.rec.Ready()
}

// warnings are the datapath's problems that do not stop wiring but need an
// operator; they show in /readyz, /status and systemd's STATUS= line.
func warnings(p *parts) []string {
	return p.dp.Warnings()
}

// metricsServer is the server of /metrics, /healthz and /readyz, and its
// listener on --metrics-listen (serve starts it).
func (d *daemon) metricsServer(reg *prometheus.Registry, p *parts) (*http.Server, net.Listener, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{d.log}}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := readiness(p); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
		for _, warning := range warnings(p) {
			fmt.Fprintln(w, "warning: "+warning)
		}
	})
	ln, err := net.Listen("tcp", d.cfg.MetricsListen)
	if err != nil {
		return nil, nil, fmt.Errorf("--metrics-listen %s: %w", d.cfg.MetricsListen, err)
	}
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln, nil
}

// slogPrinter passes promhttp's errors (a collector failing) to the log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("serving metrics", "err", fmt.Sprint(v...)) }
