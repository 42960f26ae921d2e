package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	sd "github.com/coreos/go-systemd/v22/daemon"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/api"
	"github.com/quantum-agent/quantum-agent/internal/guard"
	"github.com/quantum-agent/quantum-agent/ovs"
)

// daemon holds the wired parts of a running agent.
type daemon struct {
	cfg    *config
	args   []string // the command line, parsed again with the file on SIGHUP
	log    *slog.Logger
	libLog *slog.Logger
	// The log levels change live on SIGHUP.
	level, libLevel *slog.LevelVar
	started         time.Time
	// panics counts the panics recovered in calls into libovsdb and netlink,
	// shown in /metrics.
	panics *guard.Panics
}

func newDaemon(cfg *config, args []string, stderr io.Writer) (*daemon, error) {
	d := &daemon{cfg: cfg, args: args, level: &slog.LevelVar{}, libLevel: &slog.LevelVar{}, started: time.Now(),
		panics: guard.NewPanics()}
	d.level.Set(cfg.LogLevel)
	d.libLevel.Set(cfg.LibovsdbLogLevel)
	journal := underJournal(os.Getenv, stderr)
	d.log = newLogger(stderr, d.level, journal)
	d.libLog = newLogger(stderr, d.libLevel, journal).With("component", "libovsdb")
	return d, nil
}

func (d *daemon) run(ctx context.Context) error {
	// SIGHUP's default action kills the process: catch it from the start,
	// even while the databases are awaited; it is handled once serving.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg, log := d.cfg, d.log
	log.Info("starting quantum-agent", "version", version, "host", cfg.Host, "datapath", cfg.Datapath,
		"quantum_db", cfg.QuantumDB, "ovs_db", cfg.OVSDB, "bridge", cfg.IntegrationBridge)

	store, err := d.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := d.registerChassis(ctx, store); err != nil {
		return err
	}

	dp, err := d.startDatapath(ctx, store.ID())
	if err != nil {
		return err
	}
	defer dp.Close()

	physnets := make([]string, 0, len(cfg.BridgeMappings))
	for p := range cfg.BridgeMappings {
		physnets = append(physnets, p)
	}
	if cfg.Datapath == "linuxbridge" {
		for p := range cfg.InterfaceMappings {
			physnets = append(physnets, p)
		}
	}
	ag := agent.New(store, agent.Config{Host: cfg.Host, VLANRanges: cfg.VLANRanges, PhysicalNetworks: physnets}, log)
	watchdog := watchdogInterval(log)
	rec := agent.NewReconciler(store, dp, cfg.Host, resyncPeriod(cfg.Resync, watchdog, log), log.With("component", "reconciler"))
	reg, agentMetrics, apiMetrics := d.newMetrics(ag, dp)
	rec.SetMetrics(agentMetrics)

	ln, err := d.apiListener()
	if err != nil {
		return err
	}
	parts := &parts{store: store, dp: dp, rec: rec, agent: ag}
	handler := api.NewHandler(ag, log, api.WithTimeout(cfg.RequestTimeout), api.WithMetrics(apiMetrics),
		api.WithStatus(func() api.Status { return d.status(parts) }))
	srv := api.NewServer(handler, log)

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	wg.Add(1)
	go func() { defer wg.Done(); _ = rec.Run(workCtx) }()
	d.watchConnections(workCtx, &wg, agentMetrics, parts)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("API server: %w", err)
		}
	}()
	var metrics *http.Server
	if cfg.MetricsListen != "" {
		metrics, err = d.serveMetrics(&wg, errc, reg, parts)
		if err != nil {
			return err
		}
	}
	wg.Add(1)
	go func() { defer wg.Done(); d.notifySystemd(workCtx, parts, watchdog) }()
	log.Info("serving the Quantum API", "socket", d.cfg.Socket)

	var runErr error
wait:
	for {
		select {
		case <-hup:
			d.reload()
			continue
		case <-ctx.Done():
			log.Info("stopping: draining requests in flight", "timeout", cfg.ShutdownTimeout)
		case runErr = <-errc:
			log.Error("stopping after a fatal error", "err", runErr)
		}
		break wait
	}
	_, _ = sd.SdNotify(false, sd.SdNotifyStopping)
	drainCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(drainCtx); err != nil {
		log.Warn("requests still in flight at shutdown timeout", "err", err)
	}
	if metrics != nil {
		_ = metrics.Shutdown(drainCtx)
	}
	stopWork()
	wg.Wait()
	log.Info("stopped")
	return runErr
}

// openStore connects to the Quantum DB, retrying until it answers or the
// agent is told to stop: at boot the DB may come up after the agent.
func (d *daemon) openStore(ctx context.Context) (*agent.Store, error) {
	wait := 200 * time.Millisecond
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		store, err := agent.OpenStore(attemptCtx, agent.StoreConfig{Endpoints: d.cfg.QuantumDB, LibLogger: d.libLog, Panics: d.panics}, d.log)
		cancel()
		if err == nil {
			return store, nil
		}
		d.log.Warn("Quantum DB not reachable yet; retrying", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped before the Quantum DB answered: %w", err)
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// startDatapath starts the configured datapath; quantumDBID marks what it
// wires as coming from this Quantum DB (see ovs.Config.QuantumDBID).
func (d *daemon) startDatapath(ctx context.Context, quantumDBID string) (agent.Datapath, error) {
	if d.cfg.Datapath == "linuxbridge" {
		return d.startLinuxBridge(ctx, quantumDBID)
	}
	// Both libovsdb clients log through d.libLog: SIGHUP's
	// libovsdb_log_level reaches them alike.
	dp, err := ovs.New(ovs.Config{OVSDB: d.cfg.OVSDB, Bridge: d.cfg.IntegrationBridge,
		DatapathType: d.cfg.OVSDatapathType, Host: d.cfg.Host, LibLogger: d.libLog,
		BridgeMappings: d.cfg.BridgeMappings, QuantumDBID: quantumDBID, Panics: d.panics}, d.log.With("component", "ovs"))
	if err != nil {
		return nil, err
	}
	wait := 200 * time.Millisecond
	for {
		err := dp.Start(ctx)
		if err == nil {
			return dp, nil
		}
		d.log.Warn("Open vSwitch not ready yet; retrying", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped before Open vSwitch answered: %w", err)
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
