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
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/api"
	"github.com/quantum-agent/quantum-agent/ovs"
)

// daemon holds the wired parts of a running agent.
type daemon struct {
	cfg    *config
	log    *slog.Logger
	libLog *slog.Logger
}

func newDaemon(cfg *config, stderr io.Writer) (*daemon, error) {
	if cfg.Datapath == "linuxbridge" {
		return nil, errors.New("--datapath linuxbridge: the Linux bridge datapath is not built yet; use --datapath ovs")
	}
	return &daemon{
		cfg:    cfg,
		log:    newLogger(stderr, cfg.LogLevel),
		libLog: newLogger(stderr, cfg.LibovsdbLogLevel).With("component", "libovsdb"),
	}, nil
}

// newLogger logs one structured line per event. Under systemd (journald
// sets JOURNAL_STREAM) the timestamp is left to the journal.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if os.Getenv("JOURNAL_STREAM") != "" {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func (d *daemon) run(ctx context.Context) error {
	cfg, log := d.cfg, d.log
	log.Info("starting quantum-agent", "version", version, "host", cfg.Host, "datapath", cfg.Datapath,
		"quantum_db", cfg.QuantumDB, "ovs_db", cfg.OVSDB, "bridge", cfg.IntegrationBridge)

	store, err := d.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()

	dp, err := d.startDatapath(ctx)
	if err != nil {
		return err
	}
	defer dp.Close()

	physnets := make([]string, 0, len(cfg.BridgeMappings))
	for p := range cfg.BridgeMappings {
		physnets = append(physnets, p)
	}
	ag := agent.New(store, agent.Config{Host: cfg.Host, VLANRanges: cfg.VLANRanges, PhysicalNetworks: physnets}, log)
	rec := agent.NewReconciler(store, dp, cfg.Host, cfg.Resync, log.With("component", "reconciler"))

	ln, err := d.apiListener()
	if err != nil {
		return err
	}
	srv := api.NewServer(api.NewHandler(ag, log, api.WithTimeout(cfg.RequestTimeout)), log)

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	wg.Add(1)
	go func() { defer wg.Done(); _ = rec.Run(workCtx) }()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("API server: %w", err)
		}
	}()
	var metrics *http.Server
	if cfg.MetricsListen != "" {
		metrics, err = d.serveMetrics(&wg, errc, store, dp, rec)
		if err != nil {
			return err
		}
	}
	wg.Add(1)
	go func() { defer wg.Done(); d.notifyWhenReady(workCtx, store, dp, rec) }()
	log.Info("serving the Quantum API", "socket", d.cfg.Socket)

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("stopping: draining requests in flight", "timeout", cfg.ShutdownTimeout)
	case runErr = <-errc:
		log.Error("stopping after a fatal error", "err", runErr)
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
		store, err := agent.OpenStore(attemptCtx, agent.StoreConfig{Endpoints: d.cfg.QuantumDB, LibLogger: d.libLog}, d.log)
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

func (d *daemon) startDatapath(ctx context.Context) (agent.Datapath, error) {
	lvl := d.cfg.LibovsdbLogLevel
	dp, err := ovs.New(ovs.Config{OVSDB: d.cfg.OVSDB, Bridge: d.cfg.IntegrationBridge,
		DatapathType: d.cfg.OVSDatapathType, Host: d.cfg.Host, ClientLogLevel: &lvl}, d.log.With("component", "ovs"))
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

// readiness is nil when the agent is synced and connected, else why not.
func readiness(store *agent.Store, dp agent.Datapath, rec *agent.Reconciler) error {
	if !store.Connected() {
		return errors.New("not connected to the Quantum DB")
	}
	if err := dp.Ready(); err != nil {
		return fmt.Errorf("datapath: %w", err)
	}
	return rec.Ready()
}

// notifyWhenReady tells systemd READY=1 once the first full sync is done.
func (d *daemon) notifyWhenReady(ctx context.Context, store *agent.Store, dp agent.Datapath, rec *agent.Reconciler) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if readiness(store, dp, rec) == nil {
			d.log.Info("ready: first reconcile pass done")
			_, _ = sd.SdNotify(false, sd.SdNotifyReady)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// serveMetrics serves /metrics, /healthz and /readyz on --metrics-listen.
func (d *daemon) serveMetrics(wg *sync.WaitGroup, errc chan<- error, store *agent.Store, dp agent.Datapath, rec *agent.Reconciler) (*http.Server, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := readiness(store, dp, rec); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	ln, err := net.Listen("tcp", d.cfg.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen %s: %w", d.cfg.MetricsListen, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("metrics server: %w", err)
		}
	}()
	return srv, nil
}
