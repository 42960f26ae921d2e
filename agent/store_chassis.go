package agent

import (
	"context"
	"fmt"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// Writes and reads of the Chassis table.

// chassisNamed returns the row of host name from the cache; nil when it has
// none.
func (s *Store) chassisNamed(ctx context.Context, name string) (*qdb.Chassis, error) {
	var rows []qdb.Chassis
	err := s.client.WhereCache(func(r *qdb.Chassis) bool { return r.Name == name }).List(ctx, &rows)
	if err != nil {
		return nil, unavailable(fmt.Errorf("read chassis %s: %w", name, err))
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &rows[0], nil
}

// listChassis returns every host's row, from the cache.
func (s *Store) listChassis(ctx context.Context) ([]qdb.Chassis, error) {
	var rows []qdb.Chassis
	if err := s.client.List(ctx, &rows); err != nil {
		return nil, unavailable(err)
	}
	return rows, nil
}

func (s *Store) insertChassisOps(ops []ovsdb.Operation, row *qdb.Chassis) ([]ovsdb.Operation, error) {
	return s.insertOps(ops, "build insert of chassis "+row.Name, row)
}

// updateChassisOps appends the update of the VTEP address and datapath of
// the row with row.UUID.
func (s *Store) updateChassisOps(ops []ovsdb.Operation, row *qdb.Chassis) ([]ovsdb.Operation, error) {
	return s.updateOps(ops, "build update of chassis "+row.Name, row, &row.VtepIP, &row.Datapath)
}

// setChassisNetworksOps appends the update of the networks a host's row
// lists (publishNetworks).
func (s *Store) setChassisNetworksOps(ops []ovsdb.Operation, chassisUUID string, networks []string) ([]ovsdb.Operation, error) {
	row := &qdb.Chassis{UUID: chassisUUID, Networks: networks}
	return s.updateOps(ops, "build update of the networks of a chassis", row, &row.Networks)
}
