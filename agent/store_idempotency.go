package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// Writes and reads of the Idempotency table (idempotency.go says why it
// exists). Its records are not in the cache (newMonitor): they are read back
// with a select and swept with a delete the server evaluates.

// insertKeyOps appends the insert of k's record with the operation's result
// (the id it created, or the port it plugged), to go into the operation's
// own transaction; nothing without a key.
func (s *Store) insertKeyOps(ops []ovsdb.Operation, k keyed, result string) ([]ovsdb.Operation, error) {
	if !k.given() {
		return ops, nil
	}
	return s.insertOps(ops, "build idempotency key insert", &qdb.Idempotency{
		TenantID: k.tenant, Key: k.key, Fingerprint: k.fingerprint, Result: result, CreatedAt: createdAt(),
	})
}

// committedKey reads k's record from the DB with a select, not from the
// cache. The same read-only transaction selects this host's barrier
// generation, and the cache is awaited up to it: so whatever the record answers (the network it
// created), a following read finds, as after any successful write.
func (s *Store) committedKey(ctx context.Context, k keyed) (*qdb.Idempotency, error) {
	ops := []ovsdb.Operation{
		{Op: ovsdb.OperationSelect, Table: qdb.IdempotencyTable, Where: []ovsdb.Condition{
			ovsdb.NewCondition("tenant_id", ovsdb.ConditionEqual, k.tenant),
			ovsdb.NewCondition("key", ovsdb.ConditionEqual, k.key),
		}},
		s.generationSelect(),
	}
	res, err := s.conn.Transact(ctx, ops...)
	if err != nil {
		return nil, unavailable(fmt.Errorf("Quantum DB select of an idempotency key: %w", err))
	}
	if err := checkResults(res, ops); err != nil {
		return nil, err
	}
	if len(res[1].Rows) == 1 {
		if err := s.awaitGeneration(ctx, toInt(res[1].Rows[0]["generation"])); err != nil {
			return nil, err
		}
	}
	if len(res[0].Rows) == 0 {
		return nil, nil
	}
	rec := &qdb.Idempotency{}
	if err := s.decodeRow(&res[0].Rows[0], rec); err != nil {
		return nil, fmt.Errorf("decode idempotency key row: %w", err)
	}
	return rec, nil
}

// decodeRow fills a model from a row a select returned.
func (s *Store) decodeRow(row *ovsdb.Row, m model.Model) error {
	dbModel := s.client.Cache().DatabaseModel()
	info, err := dbModel.NewModelInfo(m)
	if err != nil {
		return err
	}
	if err := dbModel.Mapper.GetRowData(row, info); err != nil {
		return err
	}
	// The mapper fills the schema's columns only; _uuid is not one of them.
	if id, ok := (*row)["_uuid"].(ovsdb.UUID); ok {
		return info.SetField("_uuid", id.GoUUID)
	}
	return nil
}

// SweepIdempotencyKeys deletes the records of keys used more than olderThan
// ago (IdempotencyKeyLifetime in production) and returns how many it
// deleted: one delete whose condition the server evaluates (the records are
// not in the cache). It needs no read-your-writes barrier, so it does not
// bump the barrier generation.
func (s *Store) SweepIdempotencyKeys(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := int(time.Now().Add(-olderThan).UnixNano())
	row := &qdb.Idempotency{}
	ops, err := s.client.WhereAll(row, model.Condition{Field: &row.CreatedAt, Function: ovsdb.ConditionLessThan, Value: cutoff}).Delete()
	if err != nil {
		return 0, fmt.Errorf("build idempotency key sweep: %w", err)
	}
	res, err := s.conn.Transact(ctx, ops...)
	if err != nil {
		return 0, unavailable(fmt.Errorf("sweep idempotency keys: %w", err))
	}
	if err := checkResults(res, ops); err != nil {
		return 0, fmt.Errorf("sweep idempotency keys: %w", err)
	}
	return res[0].Count, nil
}
