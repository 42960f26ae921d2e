package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestRetry: retry calls f again after each failure, logging what it
// awaits, until f succeeds; when ctx ends it gives up with f's last error.
func TestRetry(t *testing.T) {
	var logs bytes.Buffer
	d := &daemon{log: slog.New(slog.NewTextHandler(&logs, nil))}
	refused := errors.New("connection refused")
	calls := 0
	err := d.retry(t.Context(), "connecting to the Quantum DB", func(context.Context) error {
		if calls++; calls < 3 {
			return refused
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("retry: %v after %d calls, want nil after 3", err, calls)
	}
	if n := strings.Count(logs.String(), "connecting to the Quantum DB failed; retrying"); n != 2 {
		t.Errorf("%d retry lines, want 2:\n%s", n, logs.String())
	}

	ctx, cancel := context.WithCancel(t.Context())
	calls = 0
	err = d.retry(ctx, "connecting to Open vSwitch", func(context.Context) error { calls++; cancel(); return refused })
	if !errors.Is(err, refused) || !strings.Contains(err.Error(), "stopped before connecting to Open vSwitch succeeded") || calls != 1 {
		t.Errorf("retry after cancel: %v after %d calls", err, calls)
	}
}
