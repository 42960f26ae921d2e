package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// The Idempotency-Key extension. A create or plug that ends in
// serviceUnavailable (the Quantum DB stalled past the request's deadline)
// may still commit once the DB answers again, so a plain retry could make
// a second network. A request that carries a key has the key's record
// inserted IN THE SAME TRANSACTION as what it creates, under the unique
// index (tenant_id, key) of the Idempotency table: the record exists if and
// only if the operation committed. A retry with the same key then finds it
// and answers the first outcome without doing anything again.

// IdempotencyKeyLifetime is how long a key's record is kept: a retry within
// it is answered with the first outcome. SweepIdempotencyKeys deletes older
// records; until a sweep runs they still answer.
const IdempotencyKeyLifetime = 24 * time.Hour

// maxIdempotencyKeyLen bounds a key as the Idempotency-Key extension does.
const maxIdempotencyKeyLen = 255

type idempotencyKeyCtx struct{}

// WithIdempotencyKey returns ctx carrying the request's Idempotency-Key (""
// carries none). The key is request metadata that cuts across the Service
// methods, like a request id, rather than an argument of one of them: in
// the context it reaches the create and plug methods, which read it, while
// Service's signatures, implemented by fakes and checked by many tests,
// stay as released.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	if key == "" {
		return ctx
	}
	return context.WithValue(ctx, idempotencyKeyCtx{}, key)
}

// IdempotencyKey returns the key WithIdempotencyKey put in ctx, or "".
func IdempotencyKey(ctx context.Context) string {
	key, _ := ctx.Value(idempotencyKeyCtx{}).(string)
	return key
}

// keyed is one create or plug made under an Idempotency-Key; the zero value
// is a request without one, which behaves as if the extension did not exist.
type keyed struct {
	tenant      string
	key         string
	fingerprint string // what the request means, to tell a retry from a reuse
}

func (k keyed) given() bool { return k.key != "" }

// keyedRequest reads the key from ctx and fingerprints the request: op names
// the operation and fields are its URL ids and meaningful, normalised spec
// fields, so a retry that differs only in ignored keys or spelling (state
// "active") matches, and one that asks for something else does not.
func keyedRequest(ctx context.Context, tenant, op string, fields ...string) (keyed, error) {
	key := IdempotencyKey(ctx)
	if key == "" {
		return keyed{}, nil
	}
	if err := ValidIdempotencyKey(key); err != nil {
		return keyed{}, err
	}
	return keyed{tenant: tenant, key: key, fingerprint: fingerprint(append([]string{op, tenant}, fields...))}, nil
}

// ValidIdempotencyKey is THE rule for a key ("" is no key): at most 255
// bytes of visible ASCII (0x21-0x7E), compared byte for byte and stored. api/
// applies it to the header before any endpoint runs; the agent applies it
// again before the key reaches the DB (a NUL would drop the whole connection).
func ValidIdempotencyKey(key string) error {
	if len(key) > maxIdempotencyKeyLen {
		return newError(KindMalformed, nil, "Idempotency-Key is longer than %d bytes", maxIdempotencyKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x21 || c > 0x7e {
			return newError(KindMalformed, nil, "Idempotency-Key contains byte 0x%02X: only visible ASCII (0x21-0x7E) is allowed", c)
		}
	}
	return nil
}

// fingerprint hashes a list of strings; encoding them as a JSON array keeps
// ["a","bc"] and ["ab","c"] apart.
func fingerprint(parts []string) string {
	b, _ := json.Marshal(parts) // a []string always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// runKeyed runs a create or plug under k. do runs first, with the key's
// record in its transaction: the common case, a first attempt, costs no
// look-up at all. When do fails, the key is read from the DB: an earlier
// attempt that committed (its answer lost, or given as 503) or a concurrent
// one holds it, and then its outcome is the answer, whatever the failure
// said (the index clash on the key, or the plug's own alreadyAttached), or
// KindIdempotencyMismatch when it was recorded for another request.
// Without a key, runKeyed is do.
func runKeyed[T any](ctx context.Context, s *Store, k keyed, do func() (T, error), replay func(result string) (T, error)) (T, error) {
	out, err := do()
	if !k.given() || err == nil || KindOf(err) == KindUnavailable {
		return out, err // done, or the DB did not answer: the client retries
	}
	rec := s.keyTaken(ctx, k)
	if rec == nil {
		return out, err
	}
	var zero T
	result, err := k.outcome(rec)
	if err != nil {
		return zero, err
	}
	s.log.DebugContext(ctx, "answered a retry with its first outcome", "tenant", k.tenant, "idempotency_key", k.key, "result", result)
	return replay(result)
}

// outcome is what a recorded key answers this request with.
func (k keyed) outcome(rec *qdb.Idempotency) (string, error) {
	if rec.Fingerprint != k.fingerprint {
		return "", newError(KindIdempotencyMismatch, nil, "The Idempotency-Key %s of tenant %s was already used for a different request", k.key, k.tenant)
	}
	return rec.Result, nil
}

// keyTaken reads k's record after a failed attempt: nil when the key is
// free or cannot be read now (the attempt's own failure is then the answer).
func (s *Store) keyTaken(ctx context.Context, k keyed) *qdb.Idempotency {
	if !k.given() {
		return nil
	}
	rec, err := s.committedKey(ctx, k)
	if err != nil {
		s.log.WarnContext(ctx, "cannot read an idempotency key back after a failed attempt", "tenant", k.tenant, "idempotency_key", k.key, "err", err)
		return nil
	}
	return rec
}
