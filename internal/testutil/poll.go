package testutil

import (
	"testing"
	"time"
)

// PollInterval is how often Eventually tries its condition: fine enough for
// a benchmark's end time, coarse enough not to load what it asks.
const PollInterval = 20 * time.Millisecond

// Poll calls cond every interval until it holds or d has passed, and
// reports whether it held. cond is always tried at least once. The first
// pauses are shorter (1 ms, doubling up to interval), so that what is
// nearly ready (a server just started) costs no full interval.
func Poll(d, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	pause := min(time.Millisecond, interval)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
		pause = min(2*pause, interval)
	}
}

// Eventually fails the test unless cond holds within d, polled every
// PollInterval.
func Eventually(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	if !Poll(d, PollInterval, cond) {
		t.Fatalf("timed out after %s waiting for %s", d, what)
	}
}
