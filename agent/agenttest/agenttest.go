// Package agenttest gives tests a real agent.Agent on a Quantum DB: by
// default libovsdb's in-process OVSDB server with our schema (no root, fast),
// or any endpoint a test names (e.g. a real ovsdb-server from testbed).
// It is imported only by tests.
package agenttest

import (
	"context"
	"encoding/json"
	"io"
	stdlog "log"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/ovn-kubernetes/libovsdb/database/inmemory"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
	"github.com/ovn-kubernetes/libovsdb/ovsdb/serverdb"
	"github.com/ovn-kubernetes/libovsdb/server"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/qdb"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
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
	schema := loadSchema(t)
	logger := logr.Discard()
	// The agent connects leader-only, which reads the _Server database: serve
	// an empty one, which the client takes for a standalone server.
	serverModel, err := serverdb.FullDatabaseModel()
	if err != nil {
		t.Fatal(err)
	}
	db := inmemory.NewDatabase(map[string]model.ClientDBModel{schema.Name: dbModel, serverdb.Schema().Name: serverModel}, &logger)
	dbm, errs := model.NewDatabaseModel(schema, dbModel)
	if len(errs) > 0 {
		t.Fatalf("database model: %v", errs)
	}
	sdbm, errs := model.NewDatabaseModel(serverdb.Schema(), serverModel)
	if len(errs) > 0 {
		t.Fatalf("_Server model: %v", errs)
	}
	// rpc2 (under libovsdb) reports connections closed at test end on the
	// standard logger; in tests that is noise, not news.
	stdlog.SetOutput(io.Discard)
	srv, err := server.NewOvsdbServer(db, &logger, dbm, sdbm)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(shortTempDir(t), "qdb.sock")
	go func() { _ = srv.Serve("unix", sock) }()
	t.Cleanup(srv.Close)
	deadline := time.Now().Add(5 * time.Second)
	for !srv.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("in-process OVSDB server did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return "unix:" + sock
}

// shortTempDir keeps unix socket paths under the 108-byte limit, which
// t.TempDir() with a long test name can exceed.
func shortTempDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "qa")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
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
	store, err := agent.OpenStore(ctx, agent.StoreConfig{Endpoints: []string{endpoint}, LibLogger: slog.New(slog.NewTextHandler(io.Discard, nil))}, log)
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

// SchemaPath is agent/qdb/quantum.ovsschema in this module.
func SchemaPath(t testing.TB) string {
	t.Helper()
	return filepath.Join(testbed.ModuleRoot(t), testbed.QuantumSchema)
}

func loadSchema(t testing.TB) ovsdb.DatabaseSchema {
	b, err := os.ReadFile(SchemaPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var s ovsdb.DatabaseSchema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}
