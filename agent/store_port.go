package agent

import (
	"context"
	"errors"
	"math/rand/v2"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// Writes of the Port table (its reads are in store_read.go), and of the
// network's free_ports set that goes with them.
//
// free_ports is the set of ACTIVE ports without an attachment that
// PlugIntoNetwork reuses: a select by the network's UUID, not a scan of its
// ports. It is a hint kept by these writes (weak references: a deleted port
// leaves it by itself); a stale member, e.g. one plugged by an agent of
// schema 1.2.0, is found out when the plug's insert or wait fails, and taken
// out then. No agent monitors the column, so keeping it costs no update to
// anybody.

// insertPortOps appends the insert of the port; free adds it to its
// network's free_ports (an ACTIVE port created without an attachment).
func (s *Store) insertPortOps(ops []ovsdb.Operation, row *qdb.Port, free bool) ([]ovsdb.Operation, error) {
	ops, err := s.insertOps(ops, "build port insert", row)
	if err == nil && free {
		ops = freePortOps(ops, row.Network, row.UUID, true)
	}
	return ops, err
}

// setPortStateOps appends the update of the port's admin state and of the
// copy its attachment (if any) carries for the host that wires it; the
// port's update is the last operation. plugged says whether the port holds
// an attachment, which keeps it out of free_ports.
func (s *Store) setPortStateOps(ops []ovsdb.Operation, netID, portID, state string, plugged bool) ([]ovsdb.Operation, error) {
	ops = append(ops, ovsdb.Operation{Op: ovsdb.OperationUpdate, Table: qdb.AttachmentTable,
		Where: []ovsdb.Condition{eq("port", ovsdb.UUID{GoUUID: portID})},
		Row:   ovsdb.Row{"admin_state": ovsdb.OvsSet{GoSet: []any{state}}}})
	ops = freePortOps(ops, netID, portID, state == PortActive && !plugged)
	row := &qdb.Port{UUID: portID, AdminState: state}
	return s.updateOps(ops, "build port update", row, &row.AdminState)
}

func (s *Store) deletePortOps(ops []ovsdb.Operation, portID string) ([]ovsdb.Operation, error) {
	return s.deleteOps(ops, "build port delete", &qdb.Port{UUID: portID})
}

// freePortOps appends the insert (free) or delete of portID in the network's
// free_ports set.
func freePortOps(ops []ovsdb.Operation, netID, portID string, free bool) []ovsdb.Operation {
	mutator := ovsdb.MutateOperationDelete
	if free {
		mutator = ovsdb.MutateOperationInsert
	}
	set, _ := ovsdb.NewOvsSet([]ovsdb.UUID{{GoUUID: portID}})
	return append(ops, ovsdb.Operation{Op: ovsdb.OperationMutate, Table: qdb.NetworkTable,
		Where:     []ovsdb.Condition{uuidEq(netID)},
		Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("free_ports", mutator, set)}})
}

// adminStateHolds is a wait operation that fails the transaction (timed out,
// at once) unless port portID exists with the admin state state.
func adminStateHolds(portID, state string) ovsdb.Operation {
	timeout := 0
	return ovsdb.Operation{Op: ovsdb.OperationWait, Table: qdb.PortTable, Timeout: &timeout,
		Where: []ovsdb.Condition{uuidEq(portID)}, Columns: []string{"admin_state"}, Until: "==",
		Rows: []ovsdb.Row{{"admin_state": state}}}
}

// isStaleAdminState tells a transaction that failed on adminStateHolds.
func isStaleAdminState(err error) bool {
	var timedOut *ovsdb.TimedOut
	return errors.As(err, &timedOut)
}

// freePort returns one of the network's free ports ("" when it has none): a
// select by the network's UUID. It picks at random among them, so that
// concurrent plugs into one network do not all race for the same port.
func (s *Store) freePort(ctx context.Context, netID string) (string, error) {
	op := selectOp(qdb.NetworkTable, uuidEq(netID))
	op.Columns = []string{"free_ports"}
	res, err := s.read(ctx, op)
	if err != nil {
		return "", err
	}
	rows, err := decodeRows[qdb.Network](s, res[0].Rows)
	if err != nil || len(rows) == 0 || len(rows[0].FreePorts) == 0 {
		return "", err
	}
	free := rows[0].FreePorts
	return free[rand.IntN(len(free))], nil
}

// dropFreePort takes a port that is not free out of the network's set. No
// read-your-writes barrier: only the set's next reader cares, and it copes
// with a stale member anyway.
func (s *Store) dropFreePort(ctx context.Context, netID, portID string) {
	ops := freePortOps(nil, netID, portID, false)
	res, err := s.conn.Transact(ctx, ops...)
	if err == nil {
		err = checkResults(res, ops)
	}
	if err != nil {
		s.log.Debug("could not take a port out of its network's free ports", "port", portID, "err", err)
	}
}
