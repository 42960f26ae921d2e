package agent

import (
	"context"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// Writes and reads of the Network table.

func (s *Store) insertNetworkOps(ops []ovsdb.Operation, row *qdb.Network) ([]ovsdb.Operation, error) {
	return s.insertOps(ops, "build network insert", row)
}

func (s *Store) renameNetworkOps(ops []ovsdb.Operation, netID, name string) ([]ovsdb.Operation, error) {
	row := &qdb.Network{UUID: netID, Name: name}
	return s.updateOps(ops, "build network update", row, &row.Name)
}

// deleteNetworkOps appends the delete of the network's ports (a condition
// the server evaluates: they are not in the cache) and then of the network
// itself, the last operation. An attachment made meanwhile still references
// the network, and the DB refuses the whole transaction.
func (s *Store) deleteNetworkOps(ops []ovsdb.Operation, netID string) ([]ovsdb.Operation, error) {
	ops = append(ops, ovsdb.Operation{Op: ovsdb.OperationDelete, Table: qdb.PortTable,
		Where: []ovsdb.Condition{eq("network", ovsdb.UUID{GoUUID: netID})}})
	return s.deleteOps(ops, "build network delete", &qdb.Network{UUID: netID})
}

// listNetworks returns every network of every tenant, from the cache.
func (s *Store) listNetworks(ctx context.Context) ([]qdb.Network, error) {
	var nets []qdb.Network
	if err := s.client.List(ctx, &nets); err != nil {
		return nil, unavailable(err)
	}
	return nets, nil
}
