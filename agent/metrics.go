package agent

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// The agent's Prometheus metrics. They are registered on a registry the
// caller passes in (never the global one), and carry no per-tenant or
// per-port labels: a hypervisor with thousands of ports has a handful of
// series.

const metricPrefix = "quantum_agent_"

// Metrics are the reconciler's and the connections' counters and
// histograms. A nil *Metrics is valid and records nothing, so code paths
// and tests without metrics need no checks.
type Metrics struct {
	passes       *prometheus.CounterVec // by trigger
	passErrors   prometheus.Counter
	passDuration prometheus.Histogram
	plugToUp     prometheus.Histogram
	dbConnected  *prometheus.GaugeVec
	dbReconnects *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "reconcile_passes_total",
			Help: "Reconcile passes run (desired state from the Quantum DB handed to the datapath), by what triggered them.",
		}, []string{"trigger"}),
		passErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: metricPrefix + "reconcile_errors_total",
			Help: "Reconcile passes that failed (they are retried with backoff).",
		}),
		passDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    metricPrefix + "reconcile_pass_duration_seconds",
			Help:    "Duration of one reconcile pass.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10), // 1ms .. ~4.4min
		}),
		plugToUp: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    metricPrefix + "plug_to_up_seconds",
			Help:    "Time from an accepted plug (the attachment's created_at) to its first UP status written by this agent.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		dbConnected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: metricPrefix + "ovsdb_connected",
			Help: "Whether the OVSDB connection is up (1) or not (0), per database.",
		}, []string{"database"}),
		dbReconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "ovsdb_reconnects_total",
			Help: "Times the OVSDB connection came back after being lost, per database.",
		}, []string{"database"}),
	}
	for _, t := range []string{TriggerQuantumDB, TriggerDatapath, TriggerResync, TriggerRetry} {
		m.passes.WithLabelValues(t) // every series from the start, at 0
	}
	reg.MustRegister(m.passes, m.passErrors, m.passDuration, m.plugToUp, m.dbConnected, m.dbReconnects)
	return m
}

// What triggered a reconcile pass (the trigger label of the passes counter):
// a change in this host's view of the Quantum DB, a change the datapath saw,
// the periodic resync (and the first pass), or the retry of a failed pass.
const (
	TriggerQuantumDB = "quantum-db"
	TriggerDatapath  = "datapath"
	TriggerResync    = "resync"
	TriggerRetry     = "retry"
)

// observePass records one reconcile pass and what triggered it.
func (m *Metrics) observePass(trigger string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.passes.WithLabelValues(trigger).Inc()
	m.passDuration.Observe(d.Seconds())
	if err != nil {
		m.passErrors.Inc()
	}
}

// observeUp records plug-to-UP for each attachment the pass just moved to
// UP for the first time: from no status or PROVISIONING. (An attachment that
// comes back UP after DOWN or FAILED is a recovery, not a plug.) prev holds
// the rows as they were before the pass wrote the new states.
func (m *Metrics) observeUp(prev map[string]*qdb.Attachment, states []PortState) {
	if m == nil {
		return
	}
	now := time.Now().UnixNano()
	for _, st := range states {
		a, ok := prev[st.AttachmentID]
		if !ok || st.Status != StatusUp || (a.Status != "" && a.Status != StatusProvisioning) || a.CreatedAt <= 0 {
			continue
		}
		m.plugToUp.Observe(max(0, float64(int64(now)-int64(a.CreatedAt))/1e9))
	}
}

// WatchConnection keeps the connection gauge of database current and counts
// its reconnects, polling connected every period until ctx ends. libovsdb
// has no reconnect callback, so a drop and return within one period goes
// unseen; a period of a second sees any outage that matters.
func (m *Metrics) WatchConnection(ctx context.Context, database string, connected func() bool, period time.Duration, log *slog.Logger) {
	if m == nil {
		return
	}
	gauge, reconnects := m.dbConnected.WithLabelValues(database), m.dbReconnects.WithLabelValues(database)
	t := time.NewTicker(period)
	defer t.Stop()
	was := connected()
	for {
		if was {
			gauge.Set(1)
		} else {
			gauge.Set(0)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := connected()
		if now && !was {
			reconnects.Inc()
			if log != nil {
				log.Info("OVSDB connection back", "database", database)
			}
		}
		was = now
	}
}

// stateCollector reports the state gauges at scrape time from the counts
// the store keeps from its cache's events (Counts): a scrape walks no rows.
type stateCollector struct {
	agent                        *Agent
	networks, ports, attachments *prometheus.Desc
	vlanPoolSize, vlanPoolFree   *prometheus.Desc
	scrapeTimeout                time.Duration
}

// NewStateCollector returns a collector of the Quantum DB state as a's host
// sees it: networks, ports and attachments by status, and the VLAN pools.
func NewStateCollector(a *Agent) prometheus.Collector {
	return &stateCollector{
		agent: a,
		networks: prometheus.NewDesc(metricPrefix+"networks",
			"Networks in the Quantum DB.", nil, nil),
		ports: prometheus.NewDesc(metricPrefix+"ports",
			"Ports of this agent's host's attachments by op-status.", []string{"status"}, nil),
		attachments: prometheus.NewDesc(metricPrefix+"attachments",
			"Attachments of this agent's host by status.", []string{"status"}, nil),
		vlanPoolSize: prometheus.NewDesc(metricPrefix+"vlan_pool_size",
			"VLAN ids in the pool of a physical network (--network-vlan-ranges).", []string{"physical_network"}, nil),
		vlanPoolFree: prometheus.NewDesc(metricPrefix+"vlan_pool_free",
			"VLAN ids of a physical network's pool that no network holds.", []string{"physical_network"}, nil),
		scrapeTimeout: 5 * time.Second,
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.networks, c.ports, c.attachments, c.vlanPoolSize, c.vlanPoolFree} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.scrapeTimeout)
	defer cancel()
	counts, err := c.agent.Counts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.networks, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.networks, prometheus.GaugeValue, float64(counts.Networks))
	for _, s := range sortedKeys(counts.Ports) {
		ch <- prometheus.MustNewConstMetric(c.ports, prometheus.GaugeValue, float64(counts.Ports[s]), s)
	}
	for _, s := range sortedKeys(counts.Attachments) {
		ch <- prometheus.MustNewConstMetric(c.attachments, prometheus.GaugeValue, float64(counts.Attachments[s]), s)
	}
	size, free, err := c.agent.vlanUsage(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.vlanPoolSize, err)
		return
	}
	for _, p := range sortedKeys(size) {
		ch <- prometheus.MustNewConstMetric(c.vlanPoolSize, prometheus.GaugeValue, float64(size[p]), p)
		ch <- prometheus.MustNewConstMetric(c.vlanPoolFree, prometheus.GaugeValue, float64(free[p]), p)
	}
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
