// Package guard keeps a panic in a library (libovsdb, netlink) or in our own
// code around it from ending the process: the goroutine that called gets an
// error instead, the panic is logged with its stack and counted, and the
// caller's ordinary retry takes over.
//
// Measured reason: when ovsdb-server drops a connection mid-transaction,
// libovsdb v0.8.1 can panic with "send on closed channel" in the goroutine
// that was transacting; a long-lived loop that does not recover dies with it
// and takes the agent down.
package guard

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
)

// Panics counts recovered panics by the component they happened in. The
// daemon owns one and hands it to every part; nil counts nothing (tests).
type Panics struct {
	mu     sync.Mutex
	counts map[string]uint64
}

// NewPanics returns an empty counter.
func NewPanics() *Panics { return &Panics{counts: map[string]uint64{}} }

func (p *Panics) add(component string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.counts[component]++
	p.mu.Unlock()
}

// Counts returns a copy of the counts, by component.
func (p *Panics) Counts() map[string]uint64 {
	out := map[string]uint64{}
	if p == nil {
		return out
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// PanicError is what Call returns for a recovered panic.
type PanicError struct {
	Component string
	Value     any
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("%s: recovered panic: %v", e.Component, e.Value)
}

// Call runs fn and turns a panic in it into a *PanicError, logged (with the
// stack) and counted under component.
func Call(log *slog.Logger, panics *Panics, component string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = recovered(log, panics, component, v)
		}
	}()
	return fn()
}

// Do is Call for a function that returns nothing (event handlers).
func Do(log *slog.Logger, panics *Panics, component string, fn func()) {
	_ = Call(log, panics, component, func() error { fn(); return nil })
}

func recovered(log *slog.Logger, panics *Panics, component string, v any) error {
	panics.add(component)
	if log != nil {
		log.Error("recovered a panic; the operation failed and will be retried",
			"component", component, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	}
	return &PanicError{Component: component, Value: v}
}
