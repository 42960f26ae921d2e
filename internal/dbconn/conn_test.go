package dbconn

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/internal/guard"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// fakeClient models what Conn relies on in libovsdb v0.8.1: an ordered
// endpoint list whose first entry is the connected one, UpdateEndpoints that
// keeps the current first endpoint first when it is still listed and drops
// the connection when it is not, and a reconnect to the first endpoint that
// answers. The real library and servers are exercised by the e2e tests.
type fakeClient struct {
	mu        sync.Mutex
	endpoints []string
	connected bool
	silent    map[string]bool // endpoints that accept but never answer
	panicNext bool            // the next Transact panics, as libovsdb can
	updates   int
}

func (f *fakeClient) Connect(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, ep := range f.endpoints {
		if f.silent[ep] {
			<-ctx.Done() // a frozen member eats the whole attempt
			return ctx.Err()
		}
		f.endpoints = append([]string{ep}, slices.Delete(slices.Clone(f.endpoints), i, i+1)...)
		f.connected = true
		return nil
	}
	return errors.New("no endpoint")
}

func (f *fakeClient) Connected() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.connected }

func (f *fakeClient) CurrentEndpoint() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.connected {
		return ""
	}
	return f.endpoints[0]
}

func (f *fakeClient) UpdateEndpoints(eps []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates++
	first := f.endpoints[0]
	f.endpoints = slices.Clone(eps)
	if i := slices.Index(eps, first); i > 0 {
		f.endpoints = append([]string{first}, slices.Delete(slices.Clone(eps), i, i+1)...)
	} else if i < 0 {
		f.connected = false
	}
}

func (f *fakeClient) Disconnect() { f.mu.Lock(); f.connected = false; f.mu.Unlock() }

func (f *fakeClient) current() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.endpoints[0], f.connected
}

func (f *fakeClient) Echo(ctx context.Context) error {
	if ep, ok := f.current(); ok && f.isSilent(ep) {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (f *fakeClient) isSilent(ep string) bool { f.mu.Lock(); defer f.mu.Unlock(); return f.silent[ep] }

func (f *fakeClient) Transact(ctx context.Context, _ ...ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	f.mu.Lock()
	p := f.panicNext
	f.panicNext = false
	f.mu.Unlock()
	if p {
		panic("send on closed channel")
	}
	if ep, ok := f.current(); ok && f.isSilent(ep) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return []ovsdb.OperationResult{{}}, nil
}

// reconnect plays libovsdb's reconnect loop: connect to the first endpoint
// that answers, in list order.
func (f *fakeClient) reconnect(ctx context.Context) {
	for !f.Connected() && ctx.Err() == nil {
		actx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_ = f.Connect(actx)
		cancel()
	}
}

func newTestConn(t *testing.T, f *fakeClient) *Conn {
	t.Helper()
	k := New(f, Config{Name: "test", Endpoints: slices.Clone(f.endpoints),
		ProbeInterval: 10 * time.Millisecond, ProbeTimeout: 20 * time.Millisecond,
		ConnectAttempt: 50 * time.Millisecond, Panics: guard.NewPanics()})
	t.Cleanup(func() { k.Close(); k.Wait() })
	return k
}

func TestConnectSkipsAFrozenFirstEndpoint(t *testing.T) {
	f := &fakeClient{endpoints: []string{"a", "b", "c"}, silent: map[string]bool{"a": true}}
	k := newTestConn(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := k.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if ep := f.CurrentEndpoint(); ep == "a" || ep == "" {
		t.Fatalf("connected to %q, want a member that answers", ep)
	}
}

func TestFrozenMemberFailsOverAndComesBackLast(t *testing.T) {
	f := &fakeClient{endpoints: []string{"a", "b", "c"}, silent: map[string]bool{}}
	k := newTestConn(t, f)
	if err := k.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	k.Start()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// A transaction in flight when the member freezes fails once the probe
	// notices, instead of waiting for its own deadline.
	f.mu.Lock()
	f.silent["a"] = true
	f.mu.Unlock()
	inflight := make(chan error, 1)
	go func() { _, err := k.Transact(ctx); inflight <- err }()
	select {
	case err := <-inflight:
		if !errors.Is(err, errProbeFailed) {
			t.Fatalf("in-flight transaction: %v, want the probe's cause", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight transaction on a frozen member never failed")
	}
	testutil.Eventually(t, "unhealthy", 10*time.Second, func() bool { return !k.Healthy() })
	if _, err := k.Transact(ctx); !errors.Is(err, ErrNotAnswering) {
		t.Fatalf("transaction while not answering: %v, want ErrNotAnswering at once", err)
	}

	go f.reconnect(ctx)
	testutil.Eventually(t, "healthy on another member", 10*time.Second, func() bool {
		return k.Healthy() && f.CurrentEndpoint() != "a"
	})
	testutil.Eventually(t, "the frozen member listed again, last", 10*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.endpoints) == 3 && f.endpoints[2] == "a"
	})
	if st := k.Stats(); st.Failovers != 1 || st.ProbeFailures == 0 {
		t.Fatalf("stats %+v, want one failover and some probe failures", st)
	}
	if _, err := k.Transact(ctx); err != nil {
		t.Fatalf("transaction after failover: %v", err)
	}
}

func TestRotatesWhileDisconnected(t *testing.T) {
	f := &fakeClient{endpoints: []string{"a", "b", "c"}, silent: map[string]bool{}}
	k := newTestConn(t, f)
	if err := k.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	k.Start()
	f.Disconnect()
	testutil.Eventually(t, "a rotated first endpoint", 10*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.endpoints[0] != "a" && len(f.endpoints) == 3
	})
}

func TestLibraryPanicBecomesAnError(t *testing.T) {
	f := &fakeClient{endpoints: []string{"a"}, silent: map[string]bool{}, panicNext: true}
	k := newTestConn(t, f)
	if err := k.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := k.Transact(context.Background())
	var pe *guard.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("transact that panicked: %v, want a *guard.PanicError", err)
	}
	if n := k.cfg.Panics.Counts()["test transact"]; n != 1 {
		t.Fatalf("panics counted: %d, want 1", n)
	}
	if _, err := k.Transact(context.Background()); err != nil {
		t.Fatalf("next transaction: %v", err)
	}
}
