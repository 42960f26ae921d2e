package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"syscall"
	"time"
)

// RetryPolicy says how often and how patiently a call is tried again when
// its outcome is unknown or the agent is briefly unavailable: on a
// serviceUnavailable fault (503, v1.0 470: the Quantum DB did not answer,
// e.g. while it restarts or elects a leader) and on a connection that broke
// after the request may have been sent (reset, EOF).
//
// Only calls that are safe to repeat are retried: reads, renames, state
// changes and deletes are idempotent by nature, and creates and plugs carry
// an Idempotency-Key (the same on every try, with the same body) so the
// agent answers a repeat with the first try's outcome. A delete whose first
// try succeeded unseen answers its retry with not found (404, v1.0 420 or
// 430): that is reported as it is, the caller decides.
//
// A refused or missing socket (the agent is not running) and a try that
// timed out (WithTimeout: the agent is stuck) are not retried.
type RetryPolicy struct {
	// Attempts is the number of tries in all, the first included; 1 (or
	// less) never retries.
	Attempts int
	// Backoff is the wait before the second try; each later wait doubles,
	// up to MaxBackoff. Each wait is jittered down by up to half, so that
	// clients that failed together do not come back together.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// DefaultRetryPolicy is what New uses: 5 tries, waiting about 0.6 s, 1.2 s,
// 2.4 s and 4.8 s between them (at most 9 s of waiting in all).
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Attempts: 5, Backoff: 600 * time.Millisecond, MaxBackoff: 5 * time.Second}
}

// WithRetry replaces DefaultRetryPolicy; RetryPolicy{Attempts: 1} turns
// retries off.
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) { c.retry = p }
}

// wait is the pause after the given failed try (1-based).
func (p RetryPolicy) wait(try int) time.Duration {
	d := p.Backoff
	for i := 1; i < try && d < p.MaxBackoff; i++ {
		d *= 2
	}
	if p.MaxBackoff > 0 {
		d = min(d, p.MaxBackoff)
	}
	if d <= 0 {
		return 0
	}
	return d/2 + mrand.N(d/2+1)
}

// IdempotencyKeyHeader carries the key of a create or plug: the agent
// answers a repeat of the same request with the same key with the first
// outcome, and a different request with a used key with
// ErrIdempotencyKeyReused.
const IdempotencyKeyHeader = "Idempotency-Key"

type idempotencyKeyCtx struct{}

// ContextWithIdempotencyKey makes the create or plug called with ctx use
// key instead of a fresh one, so that repeating the whole operation (a
// script re-running `quantumctl net-create --idempotency-key K`, a compute
// driver after its own restart) is as safe as the client's own retries.
// Use a key for one operation only.
func ContextWithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKeyCtx{}, key)
}

// idempotencyKey is the caller's key for this call, or a fresh one.
func idempotencyKey(ctx context.Context) string {
	if k, _ := ctx.Value(idempotencyKeyCtx{}).(string); k != "" {
		return k
	}
	return NewIdempotencyKey()
}

// NewIdempotencyKey returns a fresh key: a random (version 4) UUID. A
// caller that wants to repeat an operation itself (see
// ContextWithIdempotencyKey) makes its key with this, or any unique text.
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// repeatable reports whether k may be sent again without risk of doing
// twice what it asks.
func (k call) repeatable() bool {
	switch k.method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	}
	return k.keyed
}

// worthRetrying reports whether a failed try may succeed if repeated.
func worthRetrying(err error) bool {
	var f *Fault
	if errors.As(err, &f) {
		return f.Kind() == ErrUnavailable
	}
	var ue *UnreachableError
	if errors.As(err, &ue) {
		return false // never connected: the agent is not there
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
