package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/api"
	"github.com/quantum-agent/quantum-agent/ovs"
)

// wiring is what start built and serve runs: the agent's parts, its
// metrics, and its servers with their listeners.
type wiring struct {
	parts        *parts
	reg          *prometheus.Registry
	agentMetrics *agent.Metrics
	watchdog     time.Duration // systemd's watchdog interval (0: none)
	api          *api.Server
	apiLn        net.Listener
	metrics      *http.Server // nil without --metrics-listen
	metricsLn    net.Listener
}

// close closes the datapath and the store; the servers are shut down
// before (shutdown).
func (w *wiring) close() {
	if w.parts.dp != nil {
		_ = w.parts.dp.Close()
	}
	w.parts.store.Close()
}

// start connects to the Quantum DB, registers this host, starts the
// datapath, builds the agent, its reconciler and metrics, and takes the
// listeners: everything that can fail, before anything is served.
func (d *daemon) start(ctx context.Context) (_ *wiring, err error) {
	store, err := d.openStore(ctx)
	if err != nil {
		return nil, err
	}
	w := &wiring{parts: &parts{store: store}}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	if err = d.registerHost(ctx, store); err != nil {
		return nil, err
	}
	dp, err := d.startDatapath(ctx, store.ID())
	if err != nil {
		return nil, err
	}
	w.parts.dp = dp
	cfg, log := d.cfg, d.log
	ag := agent.New(store, agent.Config{Host: cfg.Host, VLANRanges: cfg.VLANRanges,
		PhysicalNetworks: d.physicalNetworks(), UnderlayMTU: cfg.UnderlayMTU}, log)
	w.watchdog = watchdogInterval(log)
	reg, agentMetrics, apiMetrics := d.newMetrics(ag, dp)
	rec := agent.NewReconciler(store, dp, cfg.Host, resyncPeriod(cfg.Resync, w.watchdog, log), agentMetrics, log.With("component", "reconciler"))
	w.parts.rec, w.parts.agent, w.reg, w.agentMetrics = rec, ag, reg, agentMetrics

	if w.apiLn, err = d.apiListener(); err != nil {
		return nil, err
	}
	handler := api.NewHandler(ag, log, api.WithTimeout(cfg.RequestTimeout), api.WithMetrics(apiMetrics),
		api.WithStatus(func() api.Status { return d.status(w.parts) }))
	w.api = api.NewServer(handler, log)
	if cfg.MetricsListen != "" {
		if w.metrics, w.metricsLn, err = d.metricsServer(reg, w.parts); err != nil {
			_ = w.apiLn.Close()
			return nil, err
		}
	}
	return w, nil
}

// physicalNetworks are the physical networks this host has an uplink for.
func (d *daemon) physicalNetworks() []string {
	physnets := make([]string, 0, len(d.cfg.BridgeMappings))
	for p := range d.cfg.BridgeMappings {
		physnets = append(physnets, p)
	}
	if d.cfg.Datapath == "linuxbridge" {
		for p := range d.cfg.InterfaceMappings {
			physnets = append(physnets, p)
		}
	}
	return physnets
}

// openStore connects to the Quantum DB, retrying until it answers or the
// agent is told to stop: at boot the DB may come up after the agent. An
// attempt has no deadline of its own: each connection try is bounded inside
// (dbconn's ConnectAttempt, then the next endpoint), and what follows, the
// initial monitor load, grows with the database (a deadline here cut it at
// a large one, and the agent refetched it forever, never ready).
func (d *daemon) openStore(ctx context.Context) (*agent.Store, error) {
	var store *agent.Store
	err := d.retry(ctx, "connecting to the Quantum DB", func(ctx context.Context) error {
		var err error
		store, err = agent.OpenStore(ctx, agent.StoreConfig{Endpoints: d.cfg.QuantumDB, Host: d.cfg.Host, AnyMember: !d.cfg.QuantumDBLeader, LibLogger: d.libLog, Panics: d.panics}, d.log)
		return err
	})
	return store, err
}

// registerHost writes this host's Chassis row, retrying until it is
// written or the agent is told to stop: a failed write (the leader changing,
// the DB restarting under the agent) is a moment's wait, not a reason to
// exit, just as the connect before it. While the connection is down the
// write is not even tried: libovsdb rebuilds its cache when it reconnects,
// and a cache read meanwhile races that.
func (d *daemon) registerHost(ctx context.Context, store *agent.Store) error {
	return d.retry(ctx, "registering host "+d.cfg.Host+" in the Quantum DB", func(ctx context.Context) error {
		if !store.Connected() {
			return fmt.Errorf("not connected: %s", store.Health())
		}
		return d.registerChassis(ctx, store)
	})
}

// startDatapath starts the configured datapath; quantumDBID marks what it
// wires as coming from this Quantum DB (see ovs.Config.QuantumDBID). The
// OVS datapath is retried until Open vSwitch answers, as the Quantum DB is.
func (d *daemon) startDatapath(ctx context.Context, quantumDBID string) (agent.Datapath, error) {
	if d.cfg.Datapath == "linuxbridge" {
		return d.startLinuxBridge(ctx, quantumDBID)
	}
	// Both libovsdb clients log through d.libLog: SIGHUP's
	// libovsdb_log_level reaches them alike.
	dp, err := ovs.New(ovs.Config{OVSDB: d.cfg.OVSDB, Bridge: d.cfg.IntegrationBridge,
		DatapathType: d.cfg.OVSDatapathType, Host: d.cfg.Host, LibLogger: d.libLog,
		BridgeMappings: d.cfg.BridgeMappings, VXLANLocalIP: d.cfg.VXLANLocalIP, QuantumDBID: quantumDBID,
		Panics: d.panics}, d.log.With("component", "ovs"))
	if err != nil {
		return nil, err
	}
	if err := d.retry(ctx, "connecting to Open vSwitch", dp.Start); err != nil { // as the Quantum DB, it may start after us
		return nil, err
	}
	return dp, nil
}

// retry calls f until it succeeds or ctx ends, waiting 200ms between the
// first tries and doubling up to 5s: at boot, the databases may come up
// after the agent, and a Raft leader election fails a write for a moment.
// what names the step ("connecting to ..."), for the log and for systemd's
// STATUS= line: nothing is served yet, so that line is the readiness
// reason an operator sees meanwhile (systemctl status).
func (d *daemon) retry(ctx context.Context, what string, f func(context.Context) error) error {
	wait := 200 * time.Millisecond
	for {
		err := f(ctx)
		if err == nil {
			return nil
		}
		d.log.Warn(what+" failed; retrying", "err", err, "retry_in", wait)
		_, _ = sd.SdNotify(false, "STATUS=not ready: "+what+" failed, retrying: "+err.Error())
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped before %s succeeded: %w", what, err)
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// apiListener takes the socket systemd passed (socket activation), or makes
// our own at --socket.
func (d *daemon) apiListener() (net.Listener, error) {
	lns, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	for _, ln := range lns {
		if ln != nil {
			d.log.Info("using the socket passed by systemd", "addr", ln.Addr().String())
			return ln, nil
		}
	}
	ln, err := api.Listen(d.cfg.Socket, os.FileMode(d.cfg.SocketMode), d.cfg.SocketGroup)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", d.cfg.Socket, err)
	}
	return ln, nil
}
