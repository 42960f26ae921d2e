package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/quantum-agent/quantum-agent/api/client"
)

// Creates and plugs carry an Idempotency-Key. The client retries with it by
// itself; --idempotency-key lets a script re-run the whole command with the
// same key, and when the outcome stays unknown the error names the key to
// re-run with.

// keyFlag registers --idempotency-key on a create or plug command.
func keyFlag(fs *pflag.FlagSet) *string {
	return fs.String("idempotency-key", "",
		"`key` identifying this operation: re-running the command with the same key returns the first run's outcome instead of doing it twice (default: a fresh key per run)")
}

// withKey returns ctx carrying the command's key, a fresh one unless given.
func withKey(ctx context.Context, key string) (context.Context, string) {
	if key == "" {
		key = client.NewIdempotencyKey()
	}
	return client.ContextWithIdempotencyKey(ctx, key), key
}

// unknownOutcome is a create or plug whose result the agent could not
// tell (still unavailable after the client's retries, or the connection
// broke): re-running it with its key is safe.
type unknownOutcome struct {
	err error
	key string
}

func (e *unknownOutcome) Error() string { return e.err.Error() }
func (e *unknownOutcome) Unwrap() error { return e.err }

// keyedResult marks err as an unknown outcome when it may be one.
func keyedResult(err error, key string) error {
	var f *client.Fault
	var ue *client.UnreachableError
	switch {
	case err == nil, errors.As(err, &ue), errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &f) && !errors.Is(f, client.ErrUnavailable):
		return err // the agent said what happened
	}
	return &unknownOutcome{err: err, key: key}
}

func (e *unknownOutcome) hint() string {
	return fmt.Sprintf("the outcome is unknown: re-run with --idempotency-key %s to retry safely", e.key)
}
