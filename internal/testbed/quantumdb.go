package testbed

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// QuantumSchema is the Quantum DB schema's path inside the module.
const QuantumSchema = "agent/qdb/quantum.ovsschema"

// DBServer is an ovsdb-server serving the Quantum schema from a directory.
type DBServer struct {
	Dir      string // holds quantum.db, the socket, pidfile and log
	Endpoint string // "unix:<Dir>/db.sock"
	t        testing.TB
}

// StartQuantumDB starts a Quantum DB server on a fresh database and returns
// its endpoint; t.Cleanup stops it.
func StartQuantumDB(t testing.TB) string {
	t.Helper()
	return StartQuantumDBAt(t, testutil.ShortDir(t)).Endpoint
}

// StartQuantumDBAt starts a Quantum DB server on dir, creating the database
// there unless it exists (so a server started again on the same dir keeps
// the data). dir must be short: it holds a unix socket.
func StartQuantumDBAt(t testing.TB, dir string) *DBServer {
	t.Helper()
	s := &DBServer{Dir: dir, Endpoint: "unix:" + filepath.Join(dir, "db.sock"), t: t}
	db := filepath.Join(dir, "quantum.db")
	if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) {
		Run(t, nil, "ovsdb-tool", "create", db, filepath.Join(ModuleRoot(t), QuantumSchema))
	}
	t.Cleanup(s.Stop) // once, here: runs after the cleanups of its users
	s.Start()
	return s
}

// Start starts the server (again); Stop stops it.
func (s *DBServer) Start() {
	s.t.Helper()
	Run(s.t, nil, "ovsdb-server", filepath.Join(s.Dir, "quantum.db"),
		"--remote=punix:"+filepath.Join(s.Dir, "db.sock"),
		"--pidfile="+filepath.Join(s.Dir, "db.pid"),
		"--unixctl="+filepath.Join(s.Dir, "db.ctl"),
		"--log-file="+filepath.Join(s.Dir, "db.log"), "--detach")
}

// Stop stops the server, keeping its database.
func (s *DBServer) Stop() {
	if err := StopPID(filepath.Join(s.Dir, "db.pid"), stopGrace); err != nil {
		s.t.Errorf("testbed: stop Quantum DB server: %v", err)
	}
}

// Restart stops and starts the server on the same database.
func (s *DBServer) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

// ModuleRoot finds the module root: the nearest directory above the test's
// working directory that holds go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := findModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
