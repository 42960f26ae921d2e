package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// TestRegisterHostRetriesUntilTheDBAnswers: at start, a registration of
// the host that fails (here the Quantum DB went away between the connect
// and the write) is logged and retried, not fatal; once the server is back
// the host's Chassis row is written and registerHost returns.
func TestRegisterHostRetriesUntilTheDBAnswers(t *testing.T) {
	testbed.RequireRoot(t)
	srv := testbed.StartQuantumDBAt(t, testutil.ShortDir(t))
	logs := &testutil.SyncBuffer{}
	d := &daemon{cfg: &config{Host: "reg-host", Datapath: "linuxbridge", QuantumDB: []string{srv.Endpoint}, QuantumDBLeader: true},
		log: slog.New(slog.NewTextHandler(logs, nil))}
	d.libLog = d.log
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	store, err := d.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	srv.Stop()
	testutil.Eventually(t, "the store to see the server gone", 20*time.Second, func() bool { return !store.Connected() })
	done := make(chan error, 1)
	go func() { done <- d.registerHost(ctx, store) }()
	const retrying = "registering host reg-host in the Quantum DB failed; retrying"
	testutil.Eventually(t, "a retry log line", 30*time.Second, func() bool { return strings.Contains(logs.String(), retrying) })
	select {
	case err := <-done:
		t.Fatalf("registerHost returned %v while the Quantum DB was down", err)
	default:
	}
	srv.Start()
	if err := <-done; err != nil {
		t.Fatalf("registerHost after the server came back: %v\n%s", err, logs.String())
	}
	// Read from the server, not the agent's cache: the row is committed.
	dump := testbed.Run(t, nil, "ovsdb-client", "dump", srv.Endpoint, "Quantum", "Chassis", "name")
	if !strings.Contains(dump, "reg-host") {
		t.Errorf("no Chassis row of reg-host after registerHost:\n%s", dump)
	}
}
