package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testfake"
)

// answer is one scripted reply; drop closes the connection instead, once
// the request has been read (an outcome the client cannot know).
type answer struct {
	status int
	body   string
	drop   bool
}

// tryRecord is what the scripted agent saw of one try.
type tryRecord struct {
	method, path, key, body string
}

// scriptedAgent answers the tries of a call in order, repeating its last
// answer, and records each try.
type scriptedAgent struct {
	socket  string
	mu      sync.Mutex
	answers []answer
	tries   []tryRecord
	onTry   func()
}

func newScriptedAgent(t *testing.T, answers ...answer) *scriptedAgent {
	t.Helper()
	a := &scriptedAgent{answers: answers}
	a.socket = testfake.Serve(t, http.HandlerFunc(a.serve))
	return a
}

func (a *scriptedAgent) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.tries = append(a.tries, tryRecord{r.Method, r.URL.Path, r.Header.Get(client.IdempotencyKeyHeader), string(body)})
	ans := a.answers[min(len(a.tries), len(a.answers))-1]
	onTry := a.onTry
	a.mu.Unlock()
	if onTry != nil {
		onTry()
	}
	if ans.drop {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ans.status)
	_, _ = io.WriteString(w, ans.body)
}

func (a *scriptedAgent) seen() []tryRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]tryRecord(nil), a.tries...)
}

// quickRetry keeps the tests' waits short; the policy's shape is the same.
func quickRetry(attempts int) client.Option {
	return client.WithRetry(client.RetryPolicy{Attempts: attempts, Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond})
}

var (
	unavailable11 = answer{status: 503, body: `{"QuantumError":{"type":"ServiceUnavailable","message":"m","detail":"The outcome is unknown."}}`}
	unavailable10 = answer{status: 470, body: `{"serviceUnavailable":{"code":470,"message":"m","detail":"d"}}`}
	uuidV4        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

// TestRetryKeepsKeyAndBody: every create and plug retried after 503s sends
// the same fresh Idempotency-Key and the same body on each try.
func TestRetryKeepsKeyAndBody(t *testing.T) {
	ctx := context.Background()
	calls := []struct {
		name string
		ok   answer
		call func(c *client.Client) error
	}{
		{"CreateNetwork", answer{status: 202, body: `{"network":{"id":"n1"}}`}, func(c *client.Client) error {
			_, err := c.CreateNetwork(ctx, "t1", client.NetworkRequest{Name: "net1"})
			return err
		}},
		{"CreatePort", answer{status: 202, body: `{"port":{"id":"p1"}}`}, func(c *client.Client) error {
			_, err := c.CreatePort(ctx, "t1", "n1", "ACTIVE")
			return err
		}},
		{"Plug", answer{status: 204}, func(c *client.Client) error {
			return c.Plug(ctx, "t1", "n1", "p1", client.PlugRequest{ID: "vif-1", Device: "tap1"})
		}},
		{"PlugIntoNetwork", answer{status: 202, body: `{"port":{"id":"p3"}}`}, func(c *client.Client) error {
			_, err := c.PlugIntoNetwork(ctx, "t1", "n1", client.PlugRequest{ID: "vif-3"})
			return err
		}},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			a := newScriptedAgent(t, unavailable11, answer{drop: true}, unavailable11, tt.ok)
			if err := tt.call(client.New(a.socket, quickRetry(5))); err != nil {
				t.Fatalf("call: %v", err)
			}
			tries := a.seen()
			if len(tries) != 4 {
				t.Fatalf("%d tries, want 4: %+v", len(tries), tries)
			}
			first := tries[0]
			if !uuidV4.MatchString(first.key) {
				t.Errorf("Idempotency-Key %q is not a UUID", first.key)
			}
			if first.body == "" {
				t.Error("no body sent")
			}
			for i, tr := range tries[1:] {
				if tr != first {
					t.Errorf("try %d = %+v, want the first try again: %+v", i+2, tr, first)
				}
			}
		})
	}
}

func TestFreshKeyPerCall(t *testing.T) {
	a := newScriptedAgent(t, answer{status: 202, body: `{"network":{"id":"n1"}}`})
	c := client.New(a.socket)
	for range 2 {
		if _, err := c.CreateNetwork(context.Background(), "t1", client.NetworkRequest{Name: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	tries := a.seen()
	if len(tries) != 2 || tries[0].key == tries[1].key || tries[0].key == "" {
		t.Errorf("two calls, keys %q and %q: want two different keys", tries[0].key, tries[1].key)
	}
}

func TestCallerIdempotencyKey(t *testing.T) {
	a := newScriptedAgent(t, unavailable11, answer{status: 204})
	ctx := client.ContextWithIdempotencyKey(context.Background(), "spawn-vm-42-vif-1")
	if err := client.New(a.socket, quickRetry(3)).Plug(ctx, "t1", "n1", "p1", client.PlugRequest{ID: "vif-1"}); err != nil {
		t.Fatal(err)
	}
	for _, tr := range a.seen() {
		if tr.key != "spawn-vm-42-vif-1" {
			t.Errorf("key %q, want the caller's", tr.key)
		}
	}
}

// TestRetryIdempotentCalls: reads, renames, state changes and deletes are
// retried without a key.
func TestRetryIdempotentCalls(t *testing.T) {
	ctx := context.Background()
	calls := map[string]func(c *client.Client) error{
		"GET":    func(c *client.Client) error { _, err := c.ListNetworks(ctx, "t1", nil); return err },
		"PUT":    func(c *client.Client) error { return c.UpdatePort(ctx, "t1", "n1", "p1", "DOWN") },
		"DELETE": func(c *client.Client) error { return c.DeletePort(ctx, "t1", "n1", "p1") },
	}
	for method, call := range calls {
		t.Run(method, func(t *testing.T) {
			a := newScriptedAgent(t, unavailable11, answer{status: 200, body: `{"networks":[]}`})
			if method != "GET" {
				a.answers[1] = answer{status: 204}
			}
			if err := call(client.New(a.socket, quickRetry(3))); err != nil {
				t.Fatal(err)
			}
			tries := a.seen()
			if len(tries) != 2 || tries[0].method != method || tries[1].key != "" {
				t.Errorf("tries %+v, want two %s without a key", tries, method)
			}
		})
	}
}

func TestRetryGivesUp(t *testing.T) {
	for name, ans := range map[string]answer{"v1.1 503": unavailable11, "v1.0 470": unavailable10} {
		t.Run(name, func(t *testing.T) {
			a := newScriptedAgent(t, ans)
			_, err := client.New(a.socket, quickRetry(3)).CreateNetwork(context.Background(), "t1", client.NetworkRequest{Name: "x"})
			if !errors.Is(err, client.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if n := len(a.seen()); n != 3 {
				t.Errorf("%d tries, want 3", n)
			}
		})
	}
}

func TestNoRetryOnOtherFaults(t *testing.T) {
	for name, ans := range map[string]answer{
		"conflict": {status: 409, body: `{"QuantumError":{"type":"AlreadyAttached","message":"m","detail":"d"}}`},
		"internal": {status: 500, body: `{"QuantumError":{"type":"QuantumServiceFault","message":"m","detail":"d"}}`},
		"reused":   {status: 422, body: `{"QuantumError":{"type":"IdempotencyKeyReused","message":"m","detail":"d"}}`},
	} {
		t.Run(name, func(t *testing.T) {
			a := newScriptedAgent(t, ans, answer{status: 204})
			if err := client.New(a.socket, quickRetry(5)).Plug(context.Background(), "t1", "n1", "p1", client.PlugRequest{ID: "v"}); err == nil {
				t.Fatal("the fault was retried away")
			}
			if n := len(a.seen()); n != 1 {
				t.Errorf("%d tries, want 1", n)
			}
		})
	}
}

// TestRetryStopsWithContext: the caller's context ends the waiting between
// tries.
func TestRetryStopsWithContext(t *testing.T) {
	a := newScriptedAgent(t, unavailable11)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.onTry = cancel // the first try fails, then the caller gives up
	c := client.New(a.socket, client.WithRetry(client.RetryPolicy{Attempts: 5, Backoff: time.Hour, MaxBackoff: time.Hour}))
	_, err := c.CreateNetwork(ctx, "t1", client.NetworkRequest{Name: "x"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := len(a.seen()); n != 1 {
		t.Errorf("%d tries, want 1", n)
	}
}
