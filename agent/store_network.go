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

// networkColumns are the columns of a network a request shows: not
// free_ports, which may be long and is nobody's business but
// PlugIntoNetwork's.
var networkColumns = []string{"_uuid", "tenant_id", "name", "network_type", "physical_network",
	"segmentation_id", "segment_key", "created_at"}

// tenantNetworks returns the tenant's networks with a select, not from the
// cache: an API list then shows a network another agent created on the
// same server a moment ago, as the ports it lists do. (Networks are few;
// the cache serves the reconciler.)
func (s *Store) tenantNetworks(ctx context.Context, tenant string) ([]qdb.Network, error) {
	return s.selectNetworks(ctx, eq("tenant_id", tenant))
}

// selectNetwork reads one network by UUID with a select (nil: none).
func (s *Store) selectNetwork(ctx context.Context, id string) (*qdb.Network, error) {
	nets, err := s.selectNetworks(ctx, uuidEq(id))
	if err != nil || len(nets) == 0 {
		return nil, err
	}
	return &nets[0], nil
}

func (s *Store) selectNetworks(ctx context.Context, where ...ovsdb.Condition) ([]qdb.Network, error) {
	op := selectOp(qdb.NetworkTable, where...)
	op.Columns = networkColumns
	res, err := s.read(ctx, op)
	if err != nil {
		return nil, err
	}
	return decodeRows[qdb.Network](s, res[0].Rows)
}
