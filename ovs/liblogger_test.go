package ovs

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestLibLoggerLevelIsLive: with Config.LibLogger, libovsdb's lines follow
// that logger's level as it changes (SIGHUP's libovsdb_log_level) and go
// silent once the datapath is closed; without it, only warnings and worse
// pass.
func TestLibLoggerLevelIsLive(t *testing.T) {
	var out bytes.Buffer
	level := &slog.LevelVar{}
	level.Set(slog.LevelWarn)
	lib := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: level}))
	h := slog.New(newLibHandler(lib, slog.New(slog.DiscardHandler)))

	h.Debug("transaction 1")
	level.Set(slog.LevelDebug)
	h.Debug("transaction 2")
	h.WithGroup("g").With("k", "v").Debug("transaction 3")
	h.Handler().(*libHandler).off.Store(true)
	h.Warn("after close")
	got := out.String()
	for want, in := range map[string]bool{"transaction 1": false, "transaction 2": true, "transaction 3": true, "after close": false} {
		if strings.Contains(got, want) != in {
			t.Errorf("%q logged: %v, want %v\n%s", want, !in, in, got)
		}
	}

	var def bytes.Buffer
	h = slog.New(newLibHandler(nil, slog.New(slog.NewTextHandler(&def, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	h.Info("chatter")
	h.Warn("trouble")
	if got := def.String(); strings.Contains(got, "chatter") || !strings.Contains(got, "trouble") || !strings.Contains(got, "component=libovsdb") {
		t.Errorf("default libovsdb log: %s", got)
	}
}
