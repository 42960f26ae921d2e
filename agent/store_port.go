package agent

import (
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// Writes of the Port table (its reads are in store_read.go).

func (s *Store) insertPortOps(ops []ovsdb.Operation, row *qdb.Port) ([]ovsdb.Operation, error) {
	return s.insertOps(ops, "build port insert", row)
}

func (s *Store) setPortStateOps(ops []ovsdb.Operation, portID, state string) ([]ovsdb.Operation, error) {
	row := &qdb.Port{UUID: portID, AdminState: state}
	return s.updateOps(ops, "build port update", row, &row.AdminState)
}

func (s *Store) deletePortOps(ops []ovsdb.Operation, portID string) ([]ovsdb.Operation, error) {
	return s.deleteOps(ops, "build port delete", &qdb.Port{UUID: portID})
}
