package agent

import (
	"errors"
	"fmt"
)

// Kind classifies an agent error; api/ maps each kind to one fault.
type Kind int

const (
	KindInternal Kind = iota
	KindMalformed
	KindNetworkNotFound
	KindNetworkInUse
	KindPortNotFound
	KindStateInvalid
	KindPortInUse
	KindAlreadyAttached
	KindOverLimit
	KindUnavailable
	KindPluginFault
	KindUnauthorized
	// KindConflict: the request clashes with another object in a way the
	// released API has no fault for (e.g. a provider segment already in use).
	KindConflict
	// KindIdempotencyMismatch: an Idempotency-Key already used by a
	// different request (another route, tenant or body).
	KindIdempotencyMismatch
)

// AllKinds lists every Kind, for tests that must cover each one.
func AllKinds() []Kind {
	var out []Kind
	for k := KindInternal; k <= KindIdempotencyMismatch; k++ {
		out = append(out, k)
	}
	return out
}

// Error is the one error type the agent returns to its callers. Detail is
// safe to show a client; Err, when set, is the cause, for logs.
type Error struct {
	Kind   Kind
	Detail string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Detail + ": " + e.Err.Error()
	}
	return e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNetworkNotFound) true for any *Error of that kind.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Detail == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is: they match any *Error of their kind.
var (
	ErrMalformed       = &Error{Kind: KindMalformed}
	ErrNetworkNotFound = &Error{Kind: KindNetworkNotFound}
	ErrNetworkInUse    = &Error{Kind: KindNetworkInUse}
	ErrPortNotFound    = &Error{Kind: KindPortNotFound}
	ErrStateInvalid    = &Error{Kind: KindStateInvalid}
	ErrPortInUse       = &Error{Kind: KindPortInUse}
	ErrAlreadyAttached = &Error{Kind: KindAlreadyAttached}
	ErrOverLimit       = &Error{Kind: KindOverLimit}
	ErrUnavailable     = &Error{Kind: KindUnavailable}
	ErrPluginFault     = &Error{Kind: KindPluginFault}
	ErrConflict        = &Error{Kind: KindConflict}
	// ErrIdempotencyMismatch matches a reused Idempotency-Key.
	ErrIdempotencyMismatch = &Error{Kind: KindIdempotencyMismatch}
)

func newError(kind Kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...), Err: cause}
}

// KindOf returns the kind of err, KindInternal for anything not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// DetailOf returns the client-safe detail of err, or "" when it has none.
func DetailOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Detail
	}
	return ""
}

func networkNotFound(id string) *Error {
	return newError(KindNetworkNotFound, nil, "Network %s could not be found", id)
}

func portNotFound(netID, portID string) *Error {
	return newError(KindPortNotFound, nil, "Port %s could not be found on network %s", portID, netID)
}
