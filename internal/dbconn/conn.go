// Package dbconn keeps a libovsdb client's connection honest. libovsdb
// v0.8.1 notices a server that closed the connection, but not one that
// stopped answering (SIGSTOP, a hung host): its Connected() stays true, writes
// wait for their deadline, and with a Raft cluster its one reconnect budget
// is eaten by the frozen member listed first, so the healthy members are
// tried with an expired deadline and the client stays wedged (watched for 8
// minutes). Conn adds what is missing:
//
//   - a probe (OVSDB echo) every ProbeInterval, answered within ProbeTimeout,
//     so a silent server is noticed within seconds;
//   - fail-fast: while the connection is known bad, Transact refuses at once
//     (nothing sent, outcome known), and a failed probe cancels the
//     transactions in flight (sent, outcome unknown);
//   - failover: a member that stops answering is taken out of the endpoint
//     list, which makes libovsdb reconnect to the others at once, and put back
//     at the end once the client is connected again; while disconnected the
//     list is rotated, so no endpoint is always tried first;
//   - a bounded time per connection attempt at start, rotating endpoints;
//   - a recovered panic: libovsdb's own can reach the transacting goroutine.
package dbconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/internal/guard"
)

// ErrNotAnswering is returned, wrapped, by Transact when the connection is
// known to be down or silent: nothing was sent.
var ErrNotAnswering = errors.New("database connection is down or not answering")

// errProbeFailed is the cause given to transactions cancelled by a failed probe.
var errProbeFailed = errors.New("the database stopped answering (probe failed) while the transaction was in flight")

// Config says how to supervise one client.
type Config struct {
	// Name of the database in logs and metrics ("quantum", "open_vswitch").
	Name string
	// Endpoints as given to the client, in the operator's order.
	Endpoints []string
	// ProbeInterval is how often the server is probed (default 1s);
	// ProbeTimeout how long a probe may take (default 3s). A silent server
	// is noticed within about their sum.
	ProbeInterval, ProbeTimeout time.Duration
	// DisconnectAfter is how many failed probes in a row make a lone
	// endpoint's connection be dropped and made again (default 3): a
	// connection that a partition left open would otherwise never recover.
	// With several endpoints the first failed probe fails over.
	DisconnectAfter int
	// ConnectAttempt bounds one connection attempt at start (default 5s).
	ConnectAttempt time.Duration
	Log            *slog.Logger
	Panics         *guard.Panics
}

func (c *Config) defaults() {
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = time.Second
	}
	if c.ProbeTimeout <= 0 {
		// Generous for a busy Raft leader: a false alarm fails the writes in
		// flight, a late one only delays noticing a silent server.
		c.ProbeTimeout = 3 * time.Second
	}
	if c.DisconnectAfter <= 0 {
		c.DisconnectAfter = 3
	}
	if c.ConnectAttempt <= 0 {
		c.ConnectAttempt = 5 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Client is the part of libovsdb's client.Client that Conn uses.
type Client interface {
	Connect(ctx context.Context) error
	Connected() bool
	CurrentEndpoint() string
	UpdateEndpoints(endpoints []string)
	Disconnect()
	Echo(ctx context.Context) error
	Transact(ctx context.Context, ops ...ovsdb.Operation) ([]ovsdb.OperationResult, error)
}

var _ Client = client.Client(nil)

// Stats are the counters a Conn keeps, for metrics.
type Stats struct {
	ProbeFailures uint64 // probes that failed or timed out
	Failovers     uint64 // endpoints taken out of the list for not answering
}

// Conn supervises one client. Start it after the client's first Connect.
type Conn struct {
	c   Client
	cfg Config

	healthy       atomic.Bool
	reason        atomic.Pointer[string] // why not healthy, for logs and status
	probeFailures atomic.Uint64
	failovers     atomic.Uint64

	epochMu sync.Mutex
	epoch   context.Context // cancelled when the connection is found bad
	cancel  context.CancelCauseFunc

	order []string // the client's endpoint order as Conn last set it (loop only)

	stop     chan struct{}
	stopCtx  context.Context // ends at Close: a probe in flight does not hold Close up
	endStop  context.CancelFunc
	done     chan struct{}
	started  atomic.Bool
	stopOnce sync.Once
}

// New supervises c, whose endpoints are cfg.Endpoints.
func New(c Client, cfg Config) *Conn {
	cfg.defaults()
	k := &Conn{c: c, cfg: cfg, order: slices.Clone(cfg.Endpoints), stop: make(chan struct{}), done: make(chan struct{})}
	k.stopCtx, k.endStop = context.WithCancel(context.Background())
	k.newEpoch()
	return k
}

// Connect makes the first connection, each attempt bounded by
// cfg.ConnectAttempt and starting from the next endpoint, until ctx ends.
func (k *Conn) Connect(ctx context.Context) error {
	var last error
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, k.cfg.ConnectAttempt)
		err := guard.Call(k.cfg.Log, k.cfg.Panics, k.cfg.Name+" connect", func() error { return k.c.Connect(actx) })
		cancel()
		if err == nil {
			k.markHealthy()
			return nil
		}
		last = err
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last attempt: %v)", ctx.Err(), last)
		}
		k.cfg.Log.Warn("database connection attempt failed; trying the next endpoint",
			"database", k.cfg.Name, "attempt", attempt+1, "err", err)
		k.rotate()
		t := time.NewTimer(min(time.Duration(attempt+1)*200*time.Millisecond, 2*time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last attempt: %v)", ctx.Err(), last)
		case <-t.C:
		}
	}
}

// Start runs the probe loop until Close.
func (k *Conn) Start() {
	if !k.started.Swap(true) {
		go k.run()
	}
}

// Close stops the probe loop (the client is the caller's to close).
func (k *Conn) Close() {
	k.stopOnce.Do(func() {
		close(k.stop)
		k.endStop()
	})
}

// Wait blocks until the probe loop has stopped (after Close).
func (k *Conn) Wait() {
	if k.started.Load() {
		<-k.done
	}
}

// Healthy reports whether the client is connected and the server answered
// the last probe.
func (k *Conn) Healthy() bool { return k.healthy.Load() && k.connected() }

// Reason says why the connection is not healthy ("" when it is).
func (k *Conn) Reason() string {
	if k.Healthy() {
		return ""
	}
	if !k.connected() {
		return "not connected"
	}
	if r := k.reason.Load(); r != nil {
		return *r
	}
	return "not answering"
}

// Stats returns the counters.
func (k *Conn) Stats() Stats {
	return Stats{ProbeFailures: k.probeFailures.Load(), Failovers: k.failovers.Load()}
}

func (k *Conn) connected() bool { return k.c.Connected() && k.c.CurrentEndpoint() != "" }

// Transact sends ops as one transaction. It refuses at once (ErrNotAnswering,
// nothing sent) while the connection is known bad, and it is cancelled when
// a probe finds the server silent while it waits.
func (k *Conn) Transact(ctx context.Context, ops ...ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	if !k.Healthy() {
		return nil, fmt.Errorf("%w: %s", ErrNotAnswering, k.Reason())
	}
	epoch := k.currentEpoch()
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(epoch, func() { cancel(context.Cause(epoch)) })
	defer stop()
	var res []ovsdb.OperationResult
	err := guard.Call(k.cfg.Log, k.cfg.Panics, k.cfg.Name+" transact", func() error {
		var err error
		res, err = k.c.Transact(tctx, ops...)
		return err
	})
	if err != nil {
		if cause := context.Cause(tctx); cause != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("%w: %w", cause, err)
		}
		return nil, err
	}
	return res, nil
}

func (k *Conn) currentEpoch() context.Context {
	k.epochMu.Lock()
	defer k.epochMu.Unlock()
	return k.epoch
}

func (k *Conn) newEpoch() {
	k.epochMu.Lock()
	defer k.epochMu.Unlock()
	k.epoch, k.cancel = context.WithCancelCause(context.Background())
}

func (k *Conn) markHealthy() {
	if !k.healthy.Swap(true) {
		k.newEpoch()
	}
	k.reason.Store(nil)
}

// markUnhealthy fails the transactions in flight and the ones to come.
func (k *Conn) markUnhealthy(reason string) {
	k.reason.Store(&reason)
	if k.healthy.Swap(false) {
		k.epochMu.Lock()
		k.cancel(errProbeFailed)
		k.epochMu.Unlock()
	}
}

func (k *Conn) run() {
	defer close(k.done)
	t := time.NewTicker(k.cfg.ProbeInterval)
	defer t.Stop()
	var (
		failures     int
		downTicks    int    // probe ticks spent disconnected
		excluded     string // endpoint taken out for not answering
		excludedFor  int    // probe ticks since
		wasConnected = true
	)
	for {
		select {
		case <-k.stop:
			return
		case <-t.C:
		}
		if excluded != "" {
			excludedFor++
		}
		if !k.connected() {
			if wasConnected {
				k.cfg.Log.Warn("database connection lost; reconnecting", "database", k.cfg.Name)
			}
			wasConnected = false
			downTicks++
			k.markUnhealthy("not connected")
			if excluded != "" && excludedFor >= 10 {
				// No other member took us back: let the silent one be tried
				// again, last.
				k.restore(excluded)
				excluded = ""
			}
			// A member that hangs eats a whole reconnect attempt when it is
			// tried first: start each attempt elsewhere. Not at once, so
			// that an attempt under way is not undone as it succeeds.
			if downTicks%2 == 0 && !k.connected() {
				k.rotate()
			}
			continue
		}
		downTicks = 0
		err := k.probe()
		if k.stopCtx.Err() != nil {
			return // Close cut the probe short: not the server's fault
		}
		if err == nil {
			if !k.healthy.Load() {
				k.cfg.Log.Info("database answering", "database", k.cfg.Name, "endpoint", k.c.CurrentEndpoint())
			}
			failures, wasConnected = 0, true
			k.markHealthy()
			if excluded != "" {
				k.restore(excluded)
				excluded = ""
			}
			continue
		}
		failures++
		k.probeFailures.Add(1)
		current := k.c.CurrentEndpoint()
		k.cfg.Log.Warn("database not answering", "database", k.cfg.Name, "endpoint", current,
			"failed_probes", failures, "err", err)
		k.markUnhealthy(fmt.Sprintf("%s did not answer a probe within %s", current, k.cfg.ProbeTimeout))
		switch {
		case len(k.order) > 1 && excluded == "":
			k.failovers.Add(1)
			excluded, excludedFor = current, 0
			k.cfg.Log.Warn("failing over to the other database endpoints", "database", k.cfg.Name,
				"silent", current)
			k.setOrder(without(k.order, current)) // drops the connection: libovsdb reconnects to the rest
		case failures >= k.cfg.DisconnectAfter:
			k.cfg.Log.Warn("dropping the silent database connection to make it again", "database", k.cfg.Name)
			guard.Do(k.cfg.Log, k.cfg.Panics, k.cfg.Name+" disconnect", k.c.Disconnect)
			failures = 0
		}
	}
}

func (k *Conn) probe() error {
	return guard.Call(k.cfg.Log, k.cfg.Panics, k.cfg.Name+" probe", func() error {
		ctx, cancel := context.WithTimeout(k.stopCtx, k.cfg.ProbeTimeout)
		defer cancel()
		return k.c.Echo(ctx)
	})
}

// restore puts an excluded endpoint back, last.
func (k *Conn) restore(ep string) {
	if slices.Contains(k.order, ep) {
		return
	}
	k.setOrder(append(slices.Clone(k.order), ep))
}

// rotate moves the first endpoint to the end. libovsdb's UpdateEndpoints keeps
// its current first endpoint first when it is still listed, so the first is
// dropped, then appended. Only used while not connected.
func (k *Conn) rotate() {
	if len(k.order) < 2 {
		return
	}
	if cur := k.c.CurrentEndpoint(); cur != "" {
		k.order = append([]string{cur}, without(k.order, cur)...)
	}
	first, rest := k.order[0], slices.Clone(k.order[1:])
	k.setOrder(rest)
	k.setOrder(append(rest, first))
}

func (k *Conn) setOrder(eps []string) {
	k.order = slices.Clone(eps)
	guard.Do(k.cfg.Log, k.cfg.Panics, k.cfg.Name+" update endpoints", func() { k.c.UpdateEndpoints(eps) })
}

func without(list []string, ep string) []string {
	out := make([]string, 0, len(list))
	for _, e := range list {
		if e != ep {
			out = append(out, e)
		}
	}
	return out
}
