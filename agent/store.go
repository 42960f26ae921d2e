package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-logr/logr"
	"github.com/ovn-kubernetes/libovsdb/cache"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// Store owns the connection to the Quantum DB. Reads come from libovsdb's
// monitor cache; every write is one OVSDB transaction.
//
// Read-your-writes: each write transaction also bumps Global.generation and
// selects the new value, and returns only once the cache has seen it. So a
// client that gets a 2xx and then reads sees its own change, whatever order
// libovsdb processes the update and the reply in.
type Store struct {
	client client.Client
	log    *slog.Logger

	changes chan struct{} // coalesced "something in the Quantum DB changed"

	watchMu sync.Mutex
	watchCh chan struct{} // closed and replaced on every change: for waiters

	genMu     sync.Mutex
	gen       int           // last Global.generation seen in the cache
	genSignal chan struct{} // closed and replaced whenever gen moves
	globalID  string
}

// StoreConfig says how to reach the Quantum DB.
type StoreConfig struct {
	// Endpoints are OVSDB remotes ("unix:/run/quantum/db.sock", "tcp:h:6641"),
	// several for a Raft cluster: the client talks to the leader only.
	Endpoints []string
	// Logger for libovsdb itself; it logs every transaction at debug, so it
	// gets its own handler (and level) from the caller.
	LibLogger *slog.Logger
}

// OpenStore connects to the Quantum DB, starts monitoring it and waits until
// the cache holds the whole database. It gives up when ctx ends.
func OpenStore(ctx context.Context, cfg StoreConfig, log *slog.Logger) (*Store, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("no Quantum DB endpoint given")
	}
	dbModel, err := qdb.FullDatabaseModel()
	if err != nil {
		return nil, fmt.Errorf("build Quantum DB model: %w", err)
	}
	// Client-side indexes: the ports and attachments of one network are
	// found without scanning every row (the schema's own unique indexes,
	// interface_id and port, already serve lookups by those).
	byNetwork := []model.ClientIndex{{Columns: []model.ColumnKey{{Column: "network"}}}}
	dbModel.SetIndexes(map[string][]model.ClientIndex{qdb.PortTable: byNetwork, qdb.AttachmentTable: byNetwork})
	libLog := cfg.LibLogger
	if libLog == nil {
		libLog = log
	}
	lr := logr.FromSlogHandler(libLog.Handler())
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = 200 * time.Millisecond
	bo.MaxInterval = 5 * time.Second
	bo.MaxElapsedTime = 0 // keep trying for as long as the agent runs
	opts := []client.Option{
		client.WithLeaderOnly(true),
		client.WithReconnect(10*time.Second, bo),
		client.WithInactivityCheck(15*time.Second, 10*time.Second, bo),
		client.WithLogger(&lr),
	}
	for _, ep := range cfg.Endpoints {
		opts = append(opts, client.WithEndpoint(ep))
	}
	c, err := client.NewOVSDBClient(dbModel, opts...)
	if err != nil {
		return nil, fmt.Errorf("create Quantum DB client: %w", err)
	}
	s := &Store{
		client:    c,
		log:       log,
		changes:   make(chan struct{}, 1),
		watchCh:   make(chan struct{}),
		genSignal: make(chan struct{}),
	}
	if err := c.Connect(ctx); err != nil {
		return nil, unavailable(fmt.Errorf("connect to Quantum DB %s: %w", strings.Join(cfg.Endpoints, ","), err))
	}
	// The cache exists once connected; handlers go on before the monitor
	// fills it, so that no event is missed.
	c.Cache().AddEventHandler(&cache.EventHandlerFuncs{
		AddFunc:    func(table string, m model.Model) { s.onEvent(table, m) },
		UpdateFunc: func(table string, _, m model.Model) { s.onEvent(table, m) },
		DeleteFunc: func(table string, _ model.Model) { s.onEvent(table, nil) },
	})
	if _, err := c.MonitorAll(ctx); err != nil {
		c.Close()
		return nil, unavailable(fmt.Errorf("monitor Quantum DB: %w", err))
	}
	if err := s.ensureGlobal(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

// ID identifies this Quantum DB: the UUID of its Global row, the same on
// every member of a cluster and kept by backups, new when a database is
// created from scratch. The datapath marks what it wires with it.
func (s *Store) ID() string { return s.globalID }

// Close disconnects from the Quantum DB.
func (s *Store) Close() { s.client.Close() }

// Connected reports whether the Quantum DB connection is up now.
// libovsdb v0.8.1 leaves Connected() true while it reconnects after the
// server went away; CurrentEndpoint is "" then, so both are checked.
func (s *Store) Connected() bool { return s.client.Connected() && s.client.CurrentEndpoint() != "" }

// Changes signals, coalesced, that the Quantum DB changed.
func (s *Store) Changes() <-chan struct{} { return s.changes }

func (s *Store) onEvent(table string, m model.Model) {
	if g, ok := m.(*qdb.Global); ok {
		s.genMu.Lock()
		if g.Generation > s.gen {
			s.gen = g.Generation
			close(s.genSignal)
			s.genSignal = make(chan struct{})
		}
		s.genMu.Unlock()
	}
	if table == qdb.GlobalTable {
		return // only a write barrier: nothing to reconcile
	}
	select {
	case s.changes <- struct{}{}:
	default:
	}
	s.watchMu.Lock()
	close(s.watchCh)
	s.watchCh = make(chan struct{})
	s.watchMu.Unlock()
}

// watch returns a channel closed at the next change of the Quantum DB. Any
// number of waiters share one channel, so a thousand waits cost nothing
// until something changes.
func (s *Store) watch() <-chan struct{} {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	return s.watchCh
}

// ensureGlobal makes sure the single Global row exists. Two agents racing to
// create it are fine: maxRows 1 lets one win and the other re-reads.
func (s *Store) ensureGlobal(ctx context.Context) error {
	for attempt := 0; attempt < 3; attempt++ {
		var globals []qdb.Global
		if err := s.client.List(ctx, &globals); err != nil {
			return fmt.Errorf("read Global: %w", err)
		}
		if len(globals) > 0 {
			s.globalID = globals[0].UUID
			s.genMu.Lock()
			if globals[0].Generation > s.gen {
				s.gen = globals[0].Generation
			}
			s.genMu.Unlock()
			return nil
		}
		// generation starts at 1: an insert of only default values would be
		// sent without a row, which the server rejects.
		ops, err := s.client.Create(&qdb.Global{Generation: 1})
		if err != nil {
			return fmt.Errorf("build Global insert: %w", err)
		}
		res, err := s.client.Transact(ctx, ops...)
		if err == nil {
			err = checkResults(res, ops)
		}
		if err != nil {
			s.log.Debug("creating Global row lost a race or failed; re-reading", "err", err)
		}
		if err := s.waitFor(ctx, func() bool { return s.readGlobalID() != "" }); err != nil {
			return err
		}
	}
	return errors.New("could not create or find the Quantum DB's Global row")
}

func (s *Store) readGlobalID() string {
	var globals []qdb.Global
	_ = s.client.List(context.Background(), &globals)
	if len(globals) == 0 {
		return ""
	}
	return globals[0].UUID
}

// waitFor polls cond until it holds, briefly; used only at start-up.
func (s *Store) waitFor(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(5 * time.Second)
	for !cond() {
		select {
		case <-ctx.Done():
			return unavailable(ctx.Err())
		case <-deadline:
			return nil
		case <-t.C:
		}
	}
	return nil
}

// transact runs ops as one transaction plus the generation bump, checks every
// operation's result, and waits until the cache reflects the transaction. It
// returns the per-operation results (without the barrier's) and, on failure,
// the joined per-operation errors (libovsdb's summary does not wrap them).
func (s *Store) transact(ctx context.Context, ops []ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	where := []ovsdb.Condition{ovsdb.NewCondition("_uuid", ovsdb.ConditionEqual, ovsdb.UUID{GoUUID: s.globalID})}
	all := append(ops[:len(ops):len(ops)],
		ovsdb.Operation{Op: ovsdb.OperationMutate, Table: qdb.GlobalTable, Where: where,
			Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("generation", ovsdb.MutateOperationAdd, 1)}},
		ovsdb.Operation{Op: ovsdb.OperationSelect, Table: qdb.GlobalTable, Where: where, Columns: []string{"generation"}},
	)
	res, err := s.client.Transact(ctx, all...)
	if err != nil {
		return nil, unavailable(fmt.Errorf("Quantum DB transaction: %w", err))
	}
	if err := checkResults(res, all); err != nil {
		return res, err
	}
	sel := res[len(all)-1]
	if len(sel.Rows) != 1 {
		return nil, fmt.Errorf("Quantum DB: Global row vanished")
	}
	if err := s.awaitGeneration(ctx, toInt(sel.Rows[0]["generation"])); err != nil {
		return nil, err
	}
	return res[:len(ops)], nil
}

// checkResults returns the errors of a transaction's operations, joined so
// that errors.As finds each (libovsdb's summary error wraps none of them).
func checkResults(res []ovsdb.OperationResult, ops []ovsdb.Operation) error {
	opErrs, err := ovsdb.CheckOperationResults(res, ops)
	if err == nil {
		return nil
	}
	joined := []error{err}
	for _, e := range opErrs {
		joined = append(joined, e)
	}
	return errors.Join(joined...)
}

func (s *Store) awaitGeneration(ctx context.Context, want int) error {
	for {
		s.genMu.Lock()
		gen, signal := s.gen, s.genSignal
		s.genMu.Unlock()
		if gen >= want {
			return nil
		}
		select {
		case <-signal:
		case <-ctx.Done():
			return unavailable(fmt.Errorf("waiting for the Quantum DB update: %w", ctx.Err()))
		}
	}
}

func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}

func unavailable(err error) *Error {
	return &Error{Kind: KindUnavailable, Detail: "The Quantum DB did not answer", Err: err}
}

// constraintOn tells which unique index a transaction error violated, by
// the column the server names ("" when it is not an index violation).
func constraintOn(err error) string {
	var cv *ovsdb.ConstraintViolation
	if !errors.As(err, &cv) {
		return ""
	}
	msg := cv.Error()
	for _, col := range []string{"interface_id", "port", "segment_key"} {
		if strings.Contains(msg, `"`+col+`"`) {
			return col
		}
	}
	return "?"
}

func isReferentialIntegrity(err error) bool {
	var ri *ovsdb.ReferentialIntegrityViolation
	return errors.As(err, &ri)
}
