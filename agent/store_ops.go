package agent

import (
	"context"
	"fmt"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// The write side, in the manner of ovn-kubernetes' libovsdb ops: each
// ...Ops method appends the operations of one typed write to ops and returns
// them, so that a caller composes several writes (a port, its attachment and
// the Idempotency-Key's record) into one s.transact. Nothing outside the
// store*.go files builds an operation itself.

// insertOps appends the insert of m; what names it in the error.
func (s *Store) insertOps(ops []ovsdb.Operation, what string, m model.Model) ([]ovsdb.Operation, error) {
	more, err := s.client.Create(m)
	if err != nil {
		return ops, fmt.Errorf("%s: %w", what, err)
	}
	return append(ops, more...), nil
}

// updateOps appends the update of fields of the row m names by its UUID.
func (s *Store) updateOps(ops []ovsdb.Operation, what string, m model.Model, fields ...any) ([]ovsdb.Operation, error) {
	more, err := s.client.Where(m).Update(m, fields...)
	if err != nil {
		return ops, fmt.Errorf("%s: %w", what, err)
	}
	return append(ops, more...), nil
}

// deleteOps appends the delete of the row m names by its UUID.
func (s *Store) deleteOps(ops []ovsdb.Operation, what string, m model.Model) ([]ovsdb.Operation, error) {
	more, err := s.client.Where(m).Delete()
	if err != nil {
		return ops, fmt.Errorf("%s: %w", what, err)
	}
	return append(ops, more...), nil
}

// transactOrNotFound runs ops and returns notFound when the last of them,
// the update or delete of one row the caller read a moment ago, matched no
// row: it went meanwhile. Any other failure is transact's.
func (s *Store) transactOrNotFound(ctx context.Context, ops []ovsdb.Operation, notFound error) error {
	res, err := s.transact(ctx, ops)
	if err != nil {
		return err
	}
	if res[len(res)-1].Count == 0 {
		return notFound
	}
	return nil
}
