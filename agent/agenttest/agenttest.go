// Package agenttest gives tests a real agent.Agent on a Quantum DB: by
// default libovsdb's in-process OVSDB server with our schema (no root, fast),
// or any endpoint a test names (e.g. a real ovsdb-server from testbed).
// It is imported only by tests.
package agenttest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb/serverdb"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/qdb"
	"github.com/quantum-agent/quantum-agent/internal/testovsdb"
)

// DefaultConfig is the agent configuration tests use unless they say
// otherwise: host "hv-test", VLANs 100..199 on physnet1, and physnet2 known
// for provider networks only.
func DefaultConfig() agent.Config {
	return agent.Config{
		Host:             "hv-test",
		VLANRanges:       []agent.VLANRange{{PhysicalNetwork: "physnet1", Min: 100, Max: 199}},
		PhysicalNetworks: []string{"physnet2"},
	}
}

// StartServer starts libovsdb's in-process OVSDB server holding an empty
// Quantum DB on a unix socket in a temp dir, and returns its endpoint.
func StartServer(t testing.TB) string {
	t.Helper()
	dbModel, err := qdb.FullDatabaseModel()
	if err != nil {
		t.Fatal(err)
	}
	// The agent connects leader-only, which reads the _Server database: serve
	// an empty one, which the client takes for a standalone server.
	serverModel, err := serverdb.FullDatabaseModel()
	if err != nil {
		t.Fatal(err)
	}
	return testovsdb.Serve(t, testovsdb.DB{Schema: qdb.Schema(), Model: dbModel},
		testovsdb.DB{Schema: serverdb.Schema(), Model: serverModel})
}

// New returns an agent on a fresh in-process Quantum DB.
func New(t testing.TB, cfg agent.Config) *agent.Agent {
	t.Helper()
	return NewAt(t, StartServer(t), cfg)
}

// NewAt returns an agent on the Quantum DB at endpoint.
func NewAt(t testing.TB, endpoint string, cfg agent.Config) *agent.Agent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log := Logger(t)
	store, err := agent.OpenStore(ctx, agent.StoreConfig{Endpoints: []string{endpoint}, Host: cfg.Host, LibLogger: slog.New(slog.NewTextHandler(io.Discard, nil))}, log)
	if err != nil {
		t.Fatalf("open store at %s: %v", endpoint, err)
	}
	t.Cleanup(store.Close)
	return agent.New(store, cfg, log)
}

// Logger returns a debug logger to stderr when QA_TEST_LOG=1, else a silent
// one. (Not t.Log: background goroutines may log after the test ended.)
func Logger(t testing.TB) *slog.Logger {
	if os.Getenv("QA_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
