// Package testovsdb is for tests only: libovsdb's in-process OVSDB server on
// a unix socket, holding whichever schemas a test names (the Quantum DB for
// agent tests, Open_vSwitch for ovs unit tests). No root, no ovsdb-server;
// production code must not import it.
package testovsdb

import (
	"io"
	stdlog "log"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/ovn-kubernetes/libovsdb/database/inmemory"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
	"github.com/ovn-kubernetes/libovsdb/server"

	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// DB is one database the server holds: its schema and the client model of
// its tables.
type DB struct {
	Schema ovsdb.DatabaseSchema
	Model  model.ClientDBModel
}

// Serve starts the server with dbs, empty, until the test ends and returns
// its endpoint ("unix:<path>").
func Serve(t testing.TB, dbs ...DB) string {
	t.Helper()
	logger := logr.Discard()
	models := map[string]model.ClientDBModel{}
	var dbModels []model.DatabaseModel
	for _, db := range dbs {
		models[db.Schema.Name] = db.Model
		dbm, errs := model.NewDatabaseModel(db.Schema, db.Model)
		if len(errs) > 0 {
			t.Fatalf("testovsdb: model of %s: %v", db.Schema.Name, errs)
		}
		dbModels = append(dbModels, dbm)
	}
	// rpc2 (under libovsdb) reports connections closed at test end on the
	// standard logger; in tests that is noise, not news.
	stdlog.SetOutput(io.Discard)
	srv, err := server.NewOvsdbServer(inmemory.NewDatabase(models, &logger), &logger, dbModels...)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(testutil.ShortDir(t), "db.sock")
	go func() { _ = srv.Serve("unix", sock) }()
	t.Cleanup(srv.Close)
	testutil.Eventually(t, "the in-process OVSDB server", 5*time.Second, srv.Ready)
	return "unix:" + sock
}
