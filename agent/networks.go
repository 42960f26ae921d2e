package agent

import (
	"context"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// Networks: a tenant's layer-2 networks, each with the segment that carries
// it (given by a provider request or allocated from the VLAN pools).

func (a *Agent) ListNetworks(ctx context.Context, tenant string, withPorts bool) ([]Network, error) {
	nets, err := a.store.tenantNetworks(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out []Network
	var ids []string
	for _, n := range nets {
		out = append(out, a.withMTU(toNetwork(n)))
		ids = append(ids, n.UUID)
	}
	if withPorts {
		c, err := a.store.contentsOf(ctx, ids...)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i].Ports = joinPorts(c.ports[out[i].ID], c.attByPort)
		}
	}
	sortByCreation(out, func(n Network) (int64, string) { return n.created, n.ID })
	return out, nil
}

func (a *Agent) GetNetwork(ctx context.Context, tenant, netID string, withPorts bool) (Network, error) {
	n, err := a.store.network(ctx, tenant, netID)
	if err != nil {
		return Network{}, err
	}
	net := a.withMTU(toNetwork(n))
	if withPorts {
		c, err := a.store.contentsOf(ctx, netID)
		if err != nil {
			return Network{}, err
		}
		net.Ports = joinPorts(c.ports[netID], c.attByPort)
	}
	return net, nil
}

func (a *Agent) CreateNetwork(ctx context.Context, tenant string, spec NetworkSpec) (Network, error) {
	if err := validName("network name", spec.Name); err != nil {
		return Network{}, err
	}
	if spec.Segment != (Segment{}) {
		if err := a.validSegment(spec.Segment); err != nil {
			return Network{}, err
		}
	}
	k, err := keyedNetwork(ctx, tenant, spec)
	if err != nil {
		return Network{}, err
	}
	return runKeyed(ctx, a.store, k,
		func() (Network, error) { return a.createNetwork(ctx, tenant, spec, k) },
		func(id string) (Network, error) { return a.replayNetwork(ctx, tenant, id, spec), nil })
}

func keyedNetwork(ctx context.Context, tenant string, spec NetworkSpec) (keyed, error) {
	seg := spec.Segment
	return keyedRequest(ctx, tenant, "create-network", spec.Name, seg.Type, seg.PhysicalNetwork, strconv.Itoa(seg.SegmentationID))
}

func (a *Agent) createNetwork(ctx context.Context, tenant string, spec NetworkSpec, k keyed) (Network, error) {
	if spec.Segment != (Segment{}) {
		return a.insertNetwork(ctx, tenant, spec.Name, spec.Segment, k)
	}
	// Allocate: pick a free VLAN and insert; the unique index on segment_key
	// rejects a VLAN another agent took meanwhile, and we pick again (unless
	// what clashed is an earlier attempt under the same key: runKeyed answers).
	for attempt := 0; attempt < 64; attempt++ {
		seg, release, err := a.reserveVLAN(ctx)
		if err != nil {
			return Network{}, err
		}
		net, err := a.insertNetwork(ctx, tenant, spec.Name, seg, k)
		release()
		if KindOf(err) == KindConflict && a.store.keyTaken(ctx, k) == nil {
			continue
		}
		return net, err
	}
	return Network{}, newError(KindUnavailable, nil, "could not allocate a VLAN: too much contention, try again")
}

// replayNetwork answers a retried create with the network it made: as it is
// now, or, deleted since, as it was asked for (the answer shows only the id).
func (a *Agent) replayNetwork(ctx context.Context, tenant, id string, spec NetworkSpec) Network {
	if n, err := a.store.network(ctx, tenant, id); err == nil {
		return a.withMTU(toNetwork(n))
	}
	return a.withMTU(Network{ID: id, Tenant: tenant, Name: spec.Name, OpStatus: StatusUp, Segment: spec.Segment})
}

// insertNetwork inserts the network with k's record. Its id is chosen here,
// not by the DB, so that the record can name it in the same transaction.
func (a *Agent) insertNetwork(ctx context.Context, tenant, name string, seg Segment, k keyed) (Network, error) {
	row := &qdb.Network{
		UUID:            uuid.NewString(),
		TenantID:        tenant,
		Name:            name,
		NetworkType:     seg.Type,
		PhysicalNetwork: seg.PhysicalNetwork,
		SegmentationID:  seg.SegmentationID,
		SegmentKey:      segmentKey(seg, uuid.NewString()),
		CreatedAt:       createdAt(),
	}
	ops, err := a.store.insertNetworkOps(nil, row)
	if err == nil {
		ops, err = a.store.insertKeyOps(ops, k, row.UUID)
	}
	if err != nil {
		return Network{}, err
	}
	if _, err := a.store.transact(ctx, ops); err != nil {
		if constraintOn(err) == "segment_key" {
			return Network{}, newError(KindConflict, err, "Segment %s is already used by another network", describeSegment(seg))
		}
		return Network{}, err
	}
	return a.withMTU(toNetwork(*row)), nil
}

func describeSegment(seg Segment) string {
	switch seg.Type {
	case NetworkTypeVLAN:
		return fmt.Sprintf("VLAN %d on physical network %s", seg.SegmentationID, seg.PhysicalNetwork)
	case NetworkTypeFlat:
		return "flat physical network " + seg.PhysicalNetwork
	case NetworkTypeVXLAN:
		return fmt.Sprintf("VXLAN VNI %d", seg.SegmentationID)
	}
	return seg.Type
}

func (a *Agent) RenameNetwork(ctx context.Context, tenant, netID, name string) error {
	if err := validName("network name", name); err != nil {
		return err
	}
	if _, err := a.store.network(ctx, tenant, netID); err != nil {
		return err
	}
	ops, err := a.store.renameNetworkOps(nil, netID, name)
	if err != nil {
		return err
	}
	return a.store.transactOrNotFound(ctx, ops, networkNotFound(netID))
}

func (a *Agent) DeleteNetwork(ctx context.Context, tenant, netID string) error {
	if _, err := a.store.network(ctx, tenant, netID); err != nil {
		return err
	}
	if atts, err := a.store.attachmentsOf(ctx, netID); err != nil {
		return err
	} else if len(atts) > 0 {
		return newError(KindNetworkInUse, nil, "Unable to remove the network %s: attachment %s is plugged into port %s", netID, atts[0].InterfaceID, atts[0].Port)
	}
	// Ports go with the network, in the same transaction. An attachment made
	// meanwhile still references the network, and the DB refuses the delete.
	ops, err := a.store.deleteNetworkOps(nil, netID)
	if err != nil {
		return err
	}
	err = a.store.transactOrNotFound(ctx, ops, networkNotFound(netID))
	if isReferentialIntegrity(err) {
		return newError(KindNetworkInUse, err, "Unable to remove the network %s: an attachment was plugged meanwhile", netID)
	}
	return err
}
