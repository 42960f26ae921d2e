package agent

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
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

// Store owns the connection to the Quantum DB. Its monitor cache holds only
// what this host wires and what every host needs (newMonitor): the networks,
// the Chassis rows and this host's attachments; every other read is a select
// through the same connection, and every write is one OVSDB transaction.
//
// Read-your-writes: each write transaction also bumps this host's Host row
// (its generation) and selects the new value, and returns only once the cache
// has seen it. So a client that gets a 2xx and then reads sees its own change,
// from the cache or by a select (the server that fed the cache that update
// has applied the write), whatever order libovsdb processes the update and
// the reply in. The barrier row is this host's alone: no other agent
// monitors it, so a write here wakes nobody else.
type Store struct {
	client client.Client
	conn   *dbconn.Conn // probes, fails fast, fails over; every write goes through it
	log    *slog.Logger
	panics *guard.Panics

	changes chan struct{} // coalesced "something in the Quantum DB changed"

	watchMu sync.Mutex
	watchCh chan struct{} // closed and replaced on every change: for waiters

	host  string // this agent's --host: whose attachments the cache holds
	tally *tally // counts kept from the cache's events

	genMu     sync.Mutex
	gen       int           // last generation of this host's Host row seen in the cache
	genSignal chan struct{} // closed and replaced whenever gen moves
	globalID  string
	hostID    string // UUID of this host's Host row (the write barrier)
}

// StoreConfig says how to reach the Quantum DB.
type StoreConfig struct {
	// Endpoints are OVSDB remotes ("unix:/run/quantum/db.sock", "tcp:h:6641"),
	// several for a Raft cluster or relays (LeaderOnly says where it talks).
	Endpoints []string
	// Host is the agent's --host: the cache holds this host's attachments
	// and its Host row, not those of other hosts.
	Host string
	// AnyMember lets the client stay on any remote that answers instead of
	// seeking the Raft leader: right for relays and followers, which forward
	// writes to the leader (the barrier keeps read-your-writes). Either way
	// the client starts at a remote chosen by a hash of Host (spread).
	AnyMember bool
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
	if cfg.Host == "" {
		return nil, errors.New("no host name given for the Quantum DB store")
	}
	c, endpoints, err := newQuantumClient(cfg, log)
	if err != nil {
		return nil, err
	}
	s := &Store{
		client: c,
		conn: dbconn.New(c, dbconn.Config{
			Name: "quantum", Endpoints: endpoints, Log: log, Panics: cfg.Panics,
			ProbeInterval: cfg.ProbeInterval, ProbeTimeout: cfg.ProbeTimeout,
		}),
		log:       log,
		panics:    cfg.Panics,
		changes:   make(chan struct{}, 1),
		watchCh:   make(chan struct{}),
		genSignal: make(chan struct{}),
		host:      cfg.Host,
		tally:     newTally(cfg.Host),
	}
	if err := s.conn.Connect(ctx); err != nil {
		if mismatch := schemaMismatch(ctx, endpoints, err); mismatch != nil {
			return nil, mismatch
		}
		return nil, unavailable(fmt.Errorf("connect to Quantum DB %s: %w", strings.Join(cfg.Endpoints, ","), err))
	}
	// The cache exists once connected; handlers go on before the monitor
	// fills it, so that no event is missed. They run in libovsdb's
	// goroutine: a panic there would end the process.
	onEvent := func(table string, old, m model.Model) {
		guard.Do(log, cfg.Panics, "quantum db event", func() { s.onEvent(table, old, m) })
	}
	c.Cache().AddEventHandler(&cache.EventHandlerFuncs{
		AddFunc:    func(table string, m model.Model) { onEvent(table, nil, m) },
		UpdateFunc: func(table string, old, m model.Model) { onEvent(table, old, m) },
		DeleteFunc: func(table string, old model.Model) { onEvent(table, old, nil) },
	})
	err = guard.Call(log, cfg.Panics, "quantum db monitor", func() error { _, err := c.Monitor(ctx, newMonitor(c, cfg.Host)); return err })
	if err != nil {
		c.Close()
		return nil, unavailable(fmt.Errorf("monitor Quantum DB: %w", err))
	}
	if err := s.ensureGlobal(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if err := s.ensureHost(ctx); err != nil {
		c.Close()
		return nil, err
	}
	s.conn.Start()
	return s, nil
}

// newQuantumClient makes the libovsdb client of the Quantum DB (not yet
// connected) and returns it with the endpoints in the order it tries them.
func newQuantumClient(cfg StoreConfig, log *slog.Logger) (client.Client, []string, error) {
	dbModel, err := qdb.FullDatabaseModel()
	if err != nil {
		return nil, nil, fmt.Errorf("build Quantum DB model: %w", err)
	}
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
		client.WithLeaderOnly(!cfg.AnyMember),
		client.WithReconnect(10*time.Second, bo),
		client.WithLogger(&lr),
	}
	endpoints := spread(cfg.Endpoints, cfg.Host)
	for _, ep := range endpoints {
		opts = append(opts, client.WithEndpoint(ep))
	}
	c, err := client.NewOVSDBClient(dbModel, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("create Quantum DB client: %w", err)
	}
	return c, endpoints, nil
}

// spread rotates endpoints to start at one chosen by a hash of host: the
// client connects to its first reachable endpoint, so without this every
// agent would sit on the first relay (or reach the leader through the first
// member). The order after it is kept, for failover.
func spread(endpoints []string, host string) []string {
	if len(endpoints) < 2 {
		return endpoints
	}
	h := fnv.New32a()
	h.Write([]byte(host))
	i := int(h.Sum32() % uint32(len(endpoints)))
	return append(slices.Clone(endpoints[i:]), endpoints[:i]...)
}

// CurrentEndpoint is the remote the client is connected to now.
func (s *Store) CurrentEndpoint() string { return s.client.CurrentEndpoint() }

// newMonitor asks only for what does not grow with the fleet's activity:
// every Network (without free_ports, which every plug changes) and Chassis
// row (they change when a host comes or joins a VXLAN network), and, by
// conditions the server evaluates, this host's attachments and Host row. Not
// Port, Global, Idempotency nor other hosts' attachments: a plug on another
// host sends this agent nothing and wakes no reconcile pass. Those rows are
// read with selects when a request needs them (store_read.go).
func newMonitor(c client.Client, host string) *client.Monitor {
	net, att, h := &qdb.Network{}, &qdb.Attachment{}, &qdb.Host{}
	// Only the columns the agent reads (external_ids of neither table is
	// read): less to receive and to keep per row.
	return c.NewMonitor(
		client.WithTable(net, &net.TenantID, &net.Name, &net.NetworkType, &net.PhysicalNetwork,
			&net.SegmentationID, &net.SegmentKey, &net.CreatedAt),
		client.WithTable(&qdb.Chassis{}),
		client.WithConditionalTable(att, []model.Condition{{Field: &att.Host, Function: ovsdb.ConditionEqual, Value: host}},
			&att.InterfaceID, &att.Port, &att.Network, &att.Host, &att.Device, &att.MAC, &att.VmID,
			&att.Status, &att.Reason, &att.CreatedAt, &att.AdminState),
		client.WithConditionalTable(h, []model.Condition{{Field: &h.Name, Function: ovsdb.ConditionEqual, Value: host}}),
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

func (s *Store) onEvent(table string, old, m model.Model) {
	s.tally.apply(table, old, m)
	if table == qdb.HostTable {
		if h, ok := m.(*qdb.Host); ok && h.Name == s.host {
			s.seeGeneration(h.Generation)
		}
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

// ensureGlobal makes sure the single Global row exists and learns its UUID
// (ID). It is read with a select: no agent monitors it. Two agents racing to
// create it are fine: maxRows 1 lets one win and the other re-reads.
func (s *Store) ensureGlobal(ctx context.Context) error {
	id, err := s.ensureRow(ctx, qdb.GlobalTable, nil, &qdb.Global{Generation: 1})
	if err != nil {
		return fmt.Errorf("the Quantum DB's Global row: %w", err)
	}
	s.globalID = id
	return nil
}

// ensureHost makes sure this host's Host row (its write barrier) exists,
// learns its UUID and waits until the cache has it. The unique index on
// name settles two agents started with the same --host.
func (s *Store) ensureHost(ctx context.Context) error {
	where := []ovsdb.Condition{ovsdb.NewCondition("name", ovsdb.ConditionEqual, s.host)}
	id, err := s.ensureRow(ctx, qdb.HostTable, where, &qdb.Host{Name: s.host, Generation: 1})
	if err != nil {
		return fmt.Errorf("the Quantum DB's Host row of %s: %w", s.host, err)
	}
	s.hostID = id
	return s.awaitGeneration(ctx, 1)
}

// ensureRow returns the UUID of the row of table matching where, inserting
// row when there is none; an insert that loses a race is read back.
func (s *Store) ensureRow(ctx context.Context, table string, where []ovsdb.Condition, row model.Model) (string, error) {
	for attempt := 0; attempt < 3; attempt++ {
		res, err := s.read(ctx, ovsdb.Operation{Op: ovsdb.OperationSelect, Table: table, Where: where, Columns: []string{"_uuid"}})
		if err != nil {
			return "", err
		}
		if rows := res[0].Rows; len(rows) > 0 {
			if id, ok := rows[0]["_uuid"].(ovsdb.UUID); ok {
				return id.GoUUID, nil
			}
			return "", fmt.Errorf("select of %s returned no _uuid", table)
		}
		ops, err := s.client.Create(row)
		if err != nil {
			return "", fmt.Errorf("build %s insert: %w", table, err)
		}
		res, err = s.conn.Transact(ctx, ops...)
		if err == nil {
			err = checkResults(res, ops)
		}
		if err != nil {
			s.log.Debug("creating a row lost a race or failed; re-reading", "table", table, "err", err)
		}
	}
	return "", fmt.Errorf("could not create or find the %s row", table)
}
