package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
	"github.com/quantum-agent/quantum-agent/internal/dbconn"
)

// transact runs ops as one transaction plus the generation bump, checks every
// operation's result, and waits until the cache reflects the transaction. It
// returns the per-operation results (without the barrier's) and, on failure,
// the joined per-operation errors (libovsdb's summary does not wrap them).
func (s *Store) transact(ctx context.Context, ops []ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	all := append(ops[:len(ops):len(ops)],
		ovsdb.Operation{Op: ovsdb.OperationMutate, Table: qdb.HostTable, Where: s.hostRow(),
			Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("generation", ovsdb.MutateOperationAdd, 1)}},
		s.generationSelect(),
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
		return nil, fmt.Errorf("Quantum DB: the Host row of %s vanished", s.host)
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

// hostRow is the condition naming this host's Host row.
func (s *Store) hostRow() []ovsdb.Condition {
	return []ovsdb.Condition{ovsdb.NewCondition("_uuid", ovsdb.ConditionEqual, ovsdb.UUID{GoUUID: s.hostID})}
}

// generationSelect reads this host's barrier generation, for awaitGeneration.
func (s *Store) generationSelect() ovsdb.Operation {
	return ovsdb.Operation{Op: ovsdb.OperationSelect, Table: qdb.HostTable, Where: s.hostRow(), Columns: []string{"generation"}}
}

// seeGeneration records a generation of this host's row the cache got.
func (s *Store) seeGeneration(gen int) {
	s.genMu.Lock()
	defer s.genMu.Unlock()
	if gen > s.gen {
		s.gen = gen
		close(s.genSignal)
		s.genSignal = make(chan struct{})
	}
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
