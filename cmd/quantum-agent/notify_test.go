package main

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

func TestWatchdogLiveness(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		last time.Time
		want bool
	}{
		{time.Time{}, false}, // no pass yet
		{now.Add(-time.Second), true},
		{now.Add(-10 * time.Second), true},
		{now.Add(-11 * time.Second), false}, // wedged: let systemd restart us
	} {
		if got := alive(c.last, now, 10*time.Second); got != c.want {
			t.Errorf("last pass %v ago: alive %v, want %v", now.Sub(c.last), got, c.want)
		}
	}
}

func TestResyncPeriodFitsTheWatchdog(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct{ resync, watchdog, want time.Duration }{
		{30 * time.Second, 0, 30 * time.Second},
		{30 * time.Second, 60 * time.Second, 20 * time.Second},
		{5 * time.Second, 60 * time.Second, 5 * time.Second},
	} {
		if got := resyncPeriod(c.resync, c.watchdog, log); got != c.want {
			t.Errorf("resync %v watchdog %v: %v, want %v", c.resync, c.watchdog, got, c.want)
		}
	}
}
