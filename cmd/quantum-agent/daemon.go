package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"

	"github.com/quantum-agent/quantum-agent/internal/guard"
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

// run is the agent's life: start (connect and wire), serve until told to
// stop or a server fails, then shut down, draining requests in flight.
func (d *daemon) run(ctx context.Context) error {
	// SIGHUP's default action kills the process: catch it from the start,
	// even while the databases are awaited; it is handled once serving.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg := d.cfg
	d.log.Info("starting quantum-agent", "version", version, "host", cfg.Host, "datapath", cfg.Datapath,
		"quantum_db", cfg.QuantumDB, "ovs_db", cfg.OVSDB, "bridge", cfg.IntegrationBridge)

	w, err := d.start(ctx)
	if err != nil {
		return err
	}
	defer w.close()
	// The work outlives ctx: it stops after the requests in flight drained.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	errc := make(chan error, 2) // the API and the metrics server
	d.serve(workCtx, w, &wg, errc)
	runErr := d.awaitStop(ctx, hup, errc)
	d.shutdown(w, stopWork, &wg)
	return runErr
}

// serve starts the reconciler, the connection watchers, the API and metrics
// servers and the systemd notifier, each on wg; a server that fails sends
// its error on errc.
func (d *daemon) serve(ctx context.Context, w *wiring, wg *sync.WaitGroup, errc chan<- error) {
	goServe := func(what string, serve func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", what, err)
			}
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); _ = w.parts.rec.Run(ctx) }()
	d.watchConnections(ctx, wg, w.agentMetrics, w.parts)
	goServe("API server", func() error { return w.api.Serve(w.apiLn) })
	if w.metrics != nil {
		d.log.Info("serving metrics", "addr", w.metricsLn.Addr().String())
		goServe("metrics server", func() error { return w.metrics.Serve(w.metricsLn) })
	}
	wg.Add(1)
	go func() { defer wg.Done(); d.notifySystemd(ctx, w.parts, w.watchdog) }()
	d.log.Info("serving the Quantum API", "socket", d.cfg.Socket)
}

// awaitStop reloads the configuration on each SIGHUP until ctx ends (nil)
// or a server fails (its error).
func (d *daemon) awaitStop(ctx context.Context, hup <-chan os.Signal, errc <-chan error) error {
	for {
		select {
		case <-hup:
			d.reload()
		case <-ctx.Done():
			d.log.Info("stopping: draining requests in flight", "timeout", d.cfg.ShutdownTimeout)
			return nil
		case err := <-errc:
			d.log.Error("stopping after a fatal error", "err", err)
			return err
		}
	}
}

// shutdown tells systemd, drains the requests in flight for at most
// --shutdown-timeout, then stops the work serve started and waits for it.
func (d *daemon) shutdown(w *wiring, stopWork context.CancelFunc, wg *sync.WaitGroup) {
	_, _ = sd.SdNotify(false, sd.SdNotifyStopping)
	drainCtx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	defer cancel()
	if err := w.api.Shutdown(drainCtx); err != nil {
		d.log.Warn("requests still in flight at shutdown timeout", "err", err)
	}
	if w.metrics != nil {
		_ = w.metrics.Shutdown(drainCtx)
	}
	stopWork()
	wg.Wait()
	d.log.Info("stopped")
}
