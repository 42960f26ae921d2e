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
	"github.com/quantum-agent/quantum-agent/internal/dbconn"
	"github.com/quantum-agent/quantum-agent/internal/guard"
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
	conn   *dbconn.Conn // probes, fails fast, fails over; every write goes through it
	log    *slog.Logger
	panics *guard.Panics

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
	// Panics counts panics recovered in calls into libovsdb (nil: none).
	Panics *guard.Panics
	// ProbeInterval and ProbeTimeout: how often the Quantum DB is probed and
	// how long it may take to answer (defaults 1s and 3s; dbconn.Config).
	ProbeInterval, ProbeTimeout time.Duration
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
	// No WithInactivityCheck: dbconn probes instead, with a shorter timeout,
	// and libovsdb's own check is what panics with "send on closed channel"
	// when a connection drops under a transaction (its traffic channel).
	opts := []client.Option{
		client.WithLeaderOnly(true),
		client.WithReconnect(10*time.Second, bo),
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
		client: c,
		conn: dbconn.New(c, dbconn.Config{
			Name: "quantum", Endpoints: cfg.Endpoints, Log: log, Panics: cfg.Panics,
			ProbeInterval: cfg.ProbeInterval, ProbeTimeout: cfg.ProbeTimeout,
		}),
		log:       log,
		panics:    cfg.Panics,
		changes:   make(chan struct{}, 1),
		watchCh:   make(chan struct{}),
		genSignal: make(chan struct{}),
	}
	if err := s.conn.Connect(ctx); err != nil {
		return nil, unavailable(fmt.Errorf("connect to Quantum DB %s: %w", strings.Join(cfg.Endpoints, ","), err))
	}
	// The cache exists once connected; handlers go on before the monitor
	// fills it, so that no event is missed. They run in libovsdb's
	// goroutine: a panic there would end the process.
	onEvent := func(table string, m model.Model) {
		guard.Do(log, cfg.Panics, "quantum db event", func() { s.onEvent(table, m) })
	}
	c.Cache().AddEventHandler(&cache.EventHandlerFuncs{
		AddFunc:    func(table string, m model.Model) { onEvent(table, m) },
		UpdateFunc: func(table string, _, m model.Model) { onEvent(table, m) },
		DeleteFunc: func(table string, _ model.Model) { onEvent(table, nil) },
	})
	err = guard.Call(log, cfg.Panics, "quantum db monitor", func() error { _, err := c.Monitor(ctx, newMonitor(c)); return err })
	if err != nil {
		c.Close()
		return nil, unavailable(fmt.Errorf("monitor Quantum DB: %w", err))
	}
	if err := s.ensureGlobal(ctx); err != nil {
		c.Close()
		return nil, err
	}
	s.conn.Start()
	return s, nil
}

// newMonitor asks for every table the agent reads from its cache. Not the
// Idempotency table: its records are only read back, with a select, by a
// retry whose attempt failed (idempotency.go), so monitoring them would make
// every agent receive and keep every key that any client ever sent.
func newMonitor(c client.Client) *client.Monitor {
	return c.NewMonitor(
		client.WithTable(&qdb.Global{}),
		client.WithTable(&qdb.Network{}),
		client.WithTable(&qdb.Port{}),
		client.WithTable(&qdb.Attachment{}),
		client.WithTable(&qdb.Chassis{}),
	)
}

// ID identifies this Quantum DB: the UUID of its Global row, the same on
// every member of a cluster and kept by backups, new when a database is
// created from scratch. The datapath marks what it wires with it.
func (s *Store) ID() string { return s.globalID }

// Close stops probing and disconnects from the Quantum DB.
func (s *Store) Close() {
	s.conn.Close()
	s.conn.Wait() // no probe or failover touches the client once it is closed
	s.client.Close()
}

// Connected reports whether the Quantum DB connection is up and the server
// answered its last probe (dbconn: libovsdb alone sees neither a silent
// server nor, in v0.8.1, its own reconnecting).
func (s *Store) Connected() bool { return s.conn.Healthy() }

// Health is "" when Connected, else why not (for readiness and status).
func (s *Store) Health() string { return s.conn.Reason() }

// ConnStats are the connection supervisor's counters (for metrics).
func (s *Store) ConnStats() dbconn.Stats { return s.conn.Stats() }

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
		res, err := s.conn.Transact(ctx, ops...)
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
	if err := checkText(ops); err != nil {
		return nil, err
	}
	res, err := s.conn.Transact(ctx, all...)
	if err != nil {
		if errors.Is(err, dbconn.ErrNotAnswering) {
			return nil, notSent(err)
		}
		return nil, outcomeUnknown(fmt.Errorf("Quantum DB transaction: %w", err))
	}
	if err := checkResults(res, all); err != nil {
		return res, err
	}
	sel := res[len(all)-1]
	if len(sel.Rows) != 1 {
		return nil, fmt.Errorf("Quantum DB: Global row vanished")
	}
	if err := s.awaitGeneration(ctx, toInt(sel.Rows[0]["generation"])); err != nil {
		return nil, &Error{Kind: KindUnavailable, Err: err, Detail: "The change was committed to the Quantum DB " +
			"but the agent could not confirm it in time: retry with the same Idempotency-Key to get its result"}
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

// notSent is a write refused before it was sent: nothing changed.
func notSent(err error) *Error {
	return &Error{Kind: KindUnavailable, Err: err,
		Detail: "The Quantum DB is not answering: nothing was changed; retry later"}
}

// outcomeUnknown is a write sent whose answer never came: it may or may not
// have been committed, which only a retry with the same Idempotency-Key can
// tell without risk of doing it twice.
func outcomeUnknown(err error) *Error {
	return &Error{Kind: KindUnavailable, Err: err,
		Detail: "The Quantum DB did not answer in time: the change may or may not have been made; " +
			"retry with the same Idempotency-Key"}
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
