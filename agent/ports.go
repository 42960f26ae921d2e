package agent

import (
	"context"

	"github.com/google/uuid"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// Ports: the logical ports of a network and their admin state.

func (a *Agent) ListPorts(ctx context.Context, tenant, netID string) ([]Port, error) {
	n, err := a.GetNetwork(ctx, tenant, netID, true)
	if err != nil {
		return nil, err
	}
	return n.Ports, nil
}

func (a *Agent) GetPort(ctx context.Context, tenant, netID, portID string) (Port, error) {
	p, att, err := a.store.port(ctx, tenant, netID, portID)
	if err != nil {
		return Port{}, err
	}
	return toPort(p, att), nil
}

func (a *Agent) CreatePort(ctx context.Context, tenant, netID, state string) (Port, error) {
	state, err := validState(state, PortDown)
	if err != nil {
		return Port{}, err
	}
	k, err := keyedRequest(ctx, tenant, "create-port", netID, state)
	if err != nil {
		return Port{}, err
	}
	return runKeyed(ctx, a.store, k,
		func() (Port, error) { return a.createPort(ctx, tenant, netID, state, k) },
		func(id string) (Port, error) { return a.replayPort(ctx, tenant, netID, id, state), nil })
}

// createPort inserts the port with k's record; the id is chosen here so
// that the record can name it.
func (a *Agent) createPort(ctx context.Context, tenant, netID, state string, k keyed) (Port, error) {
	if _, err := a.store.network(ctx, tenant, netID); err != nil {
		return Port{}, err
	}
	row := &qdb.Port{UUID: uuid.NewString(), Network: netID, TenantID: tenant, AdminState: state, CreatedAt: createdAt()}
	ops, err := a.store.insertPortOps(nil, row, state == PortActive)
	if err == nil {
		ops, err = a.store.insertKeyOps(ops, k, row.UUID)
	}
	if err != nil {
		return Port{}, err
	}
	if _, err := a.store.transact(ctx, ops); err != nil {
		if isReferentialIntegrity(err) {
			return Port{}, networkNotFound(netID) // deleted meanwhile
		}
		return Port{}, err
	}
	return toPort(*row, nil), nil
}

// replayPort answers a retried create with its port: as it is now,
// or, deleted since, as it was made (state is the one asked for).
func (a *Agent) replayPort(ctx context.Context, tenant, netID, id, state string) Port {
	if p, err := a.GetPort(ctx, tenant, netID, id); err == nil {
		return p
	}
	return toPort(qdb.Port{UUID: id, Network: netID, AdminState: state}, nil)
}

func (a *Agent) SetPortState(ctx context.Context, tenant, netID, portID, state string) error {
	state, err := validState(state, "")
	if err != nil {
		return err
	}
	_, att, err := a.store.port(ctx, tenant, netID, portID)
	if err != nil {
		return err
	}
	ops, err := a.store.setPortStateOps(nil, netID, portID, state, att != nil)
	if err != nil {
		return err
	}
	if err := a.store.transactOrNotFound(ctx, ops, portNotFound(netID, portID)); err != nil {
		return err
	}
	return nil
}

func (a *Agent) DeletePort(ctx context.Context, tenant, netID, portID string) error {
	if _, att, err := a.store.port(ctx, tenant, netID, portID); err != nil {
		return err
	} else if att != nil {
		return portInUse(portID, att.InterfaceID)
	}
	ops, err := a.store.deletePortOps(nil, portID)
	if err != nil {
		return err
	}
	err = a.store.transactOrNotFound(ctx, ops, portNotFound(netID, portID))
	if isReferentialIntegrity(err) {
		return newError(KindPortInUse, err, "Port %s has an attachment plugged meanwhile", portID)
	}
	return err
}

func portInUse(portID, ifaceID string) *Error {
	return newError(KindPortInUse, nil, "Port %s has attachment %s plugged", portID, ifaceID)
}
