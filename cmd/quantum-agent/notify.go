package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/api"
)

// The systemd notify protocol (Type=notify): READY=1 once the first full
// sync of both databases is done, WATCHDOG=1 while the reconcile loop is
// alive, and a STATUS= line for `systemctl status`. Outside systemd
// (NOTIFY_SOCKET unset) every notification is a no-op.

// statusRefresh is how often the STATUS= line is recomputed.
const statusRefresh = 5 * time.Second

// watchdogInterval is WatchdogSec from the unit (WATCHDOG_USEC), or 0.
func watchdogInterval(log *slog.Logger) time.Duration {
	d, err := sd.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("ignoring a bad systemd watchdog setting", "err", err)
		return 0
	}
	return d
}

// resyncPeriod is the reconciler's periodic pass. The watchdog is fed only
// when a pass finished within its interval, so an idle agent must pass
// more often than that: at most a third of the interval.
func resyncPeriod(resync, watchdog time.Duration, log *slog.Logger) time.Duration {
	if watchdog > 0 && resync > watchdog/3 {
		log.Info("resync interval shortened to prove liveness to the systemd watchdog",
			"resync_interval", resync, "watchdog", watchdog, "now", watchdog/3)
		return watchdog / 3
	}
	return resync
}

// notifySystemd sends READY=1 once ready, then keeps STATUS= current and,
// when the unit has a watchdog, feeds it while the reconciler is alive.
func (d *daemon) notifySystemd(ctx context.Context, p *parts, watchdog time.Duration) {
	if !d.waitReady(ctx, p) {
		return
	}
	status := d.statusLine(ctx, p)
	d.log.Info("ready: first reconcile pass done", "status", status)
	_, _ = sd.SdNotify(false, sd.SdNotifyReady+"\nSTATUS="+status)

	refresh := time.NewTicker(statusRefresh)
	defer refresh.Stop()
	var feed <-chan time.Time
	if watchdog > 0 {
		// Twice per interval, as sd_watchdog_enabled(3) advises.
		t := time.NewTicker(watchdog / 2)
		defer t.Stop()
		feed = t.C
		d.feedWatchdog(p, watchdog)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-feed:
			d.feedWatchdog(p, watchdog)
		case <-refresh.C:
			if s := d.statusLine(ctx, p); s != status {
				status = s
				_, _ = sd.SdNotify(false, "STATUS="+status)
			}
		}
	}
}

// waitReady polls until the agent is ready; false if ctx ended first.
func (d *daemon) waitReady(ctx context.Context, p *parts) bool {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if readiness(p) == nil {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// feedWatchdog sends WATCHDOG=1 only if a reconcile pass (failed or not)
// finished within the interval: a wedged reconciler starves the watchdog
// and systemd restarts the agent.
func (d *daemon) feedWatchdog(p *parts, watchdog time.Duration) {
	last := p.rec.LastPass()
	if !alive(last, time.Now(), watchdog) {
		d.log.Error("reconcile loop stalled: not feeding the systemd watchdog",
			"last_pass_ago", time.Since(last).Round(time.Millisecond), "watchdog", watchdog)
		return
	}
	_, _ = sd.SdNotify(false, sd.SdNotifyWatchdog)
}

// alive tells whether a reconcile pass that ended at last proves the loop
// alive at now: one must have ended within the watchdog interval.
func alive(last, now time.Time, watchdog time.Duration) bool {
	return !last.IsZero() && now.Sub(last) <= watchdog
}

// statusLine is what `systemctl status` shows, e.g.
// "ready; 3 networks, 12 attachments UP, 0 FAILED, 1 PROVISIONING".
func (d *daemon) statusLine(ctx context.Context, p *parts) string {
	state := "ready"
	if err := readiness(p); err != nil {
		state = "not ready: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := p.agent.Counts(ctx)
	if err != nil {
		return state + "; counts unavailable: " + err.Error()
	}
	line := fmt.Sprintf("%s; %d networks, %d attachments UP, %d FAILED", state, c.Networks, c.Attachments["UP"], c.Attachments["FAILED"])
	if w := warnings(p); len(w) > 0 {
		line += "; warning: " + strings.Join(w, "; ")
	}
	if n := c.Attachments["PROVISIONING"]; n > 0 {
		line += fmt.Sprintf(", %d PROVISIONING", n)
	}
	if n := c.Attachments["DOWN"]; n > 0 {
		line += fmt.Sprintf(", %d DOWN", n)
	}
	return line
}

// status is the answer of GET /status on the API socket.
func (d *daemon) status(p *parts) api.Status {
	st := api.Status{
		Version: version, GoVersion: runtime.Version(), Datapath: d.cfg.Datapath, Host: d.cfg.Host,
		Started: d.started.UTC(), LastPass: p.rec.LastPass().UTC(),
		Databases: []api.DatabaseStatus{{Name: "quantum", Endpoints: d.cfg.QuantumDB, Connected: p.store.Connected()}},
	}
	if p.rec.LastPass().IsZero() {
		st.LastPass = time.Time{}
	}
	if c, ok := p.dp.(agent.ConnectionReporter); ok {
		st.Databases = append(st.Databases, api.DatabaseStatus{Name: "open_vswitch", Endpoints: []string{d.cfg.OVSDB}, Connected: c.Connected()})
	}
	if err := readiness(p); err != nil {
		st.Reason = err.Error()
	} else {
		st.Ready = true
	}
	st.Warnings = warnings(p)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := p.agent.Counts(ctx)
	if err != nil {
		st.CountError = err.Error()
		return st
	}
	st.Networks, st.Ports, st.Attachments = c.Networks, c.Ports, c.Attachments
	return st
}
