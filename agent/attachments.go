package agent

import (
	"context"

	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// Attachments: plugging an interface into a port (or into a free port of a
// network), unplugging it, and waiting for the status its host's agent
// writes back.

func (a *Agent) GetAttachment(ctx context.Context, tenant, netID, portID string) (*Attachment, error) {
	if _, err := a.store.port(ctx, tenant, netID, portID); err != nil {
		return nil, err
	}
	att, err := a.store.attachmentOfPort(ctx, portID)
	if err != nil || att == nil {
		return nil, err
	}
	return toAttachment(*att), nil
}

func (a *Agent) ListAttachments(ctx context.Context, tenant, netID string) ([]Attachment, error) {
	if _, err := a.store.network(ctx, tenant, netID); err != nil {
		return nil, err
	}
	atts, err := a.store.attachmentsOf(ctx, netID)
	if err != nil {
		return nil, err
	}
	out := make([]Attachment, 0, len(atts))
	for _, att := range atts {
		out = append(out, *toAttachment(att))
	}
	sortByCreation(out, func(a Attachment) (int64, string) { return a.created, a.ID })
	return out, nil
}

// WaitAttachment blocks until the port's attachment has the status, or is
// FAILED (no wait outlasts a failure), or ctx ends; it then returns the
// attachment as it is (nil when the port holds none). It is woken by the
// Quantum DB's monitor, never by polling.
func (a *Agent) WaitAttachment(ctx context.Context, tenant, netID, portID, status string) (*Attachment, error) {
	for {
		changed := a.store.watch() // before the read, so no change is missed
		att, err := a.GetAttachment(ctx, tenant, netID, portID)
		if err != nil {
			return nil, err
		}
		if att != nil && (att.Status == status || att.Status == StatusFailed) {
			return att, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return att, nil
		}
	}
}

func (a *Agent) Plug(ctx context.Context, tenant, netID, portID string, spec AttachmentSpec) error {
	spec, k, err := a.keyedPlug(ctx, tenant, netID, portID, spec)
	if err != nil {
		return err
	}
	_, err = runKeyed(ctx, a.store, k,
		func() (struct{}, error) { return struct{}{}, a.plug(ctx, tenant, netID, portID, spec, k) }, replayPlug)
	return err
}

// keyedPlug checks a plug request and makes its keyed request.
func (a *Agent) keyedPlug(ctx context.Context, tenant, netID, portID string, spec AttachmentSpec) (AttachmentSpec, keyed, error) {
	spec, err := a.validAttachment(spec)
	if err != nil {
		return spec, keyed{}, err
	}
	k, err := keyedRequest(ctx, tenant, "plug", append([]string{netID, portID}, spec.fingerprintFields()...)...)
	return spec, k, err
}

// replayPlug answers a retried plug: 204, nothing to rebuild.
func replayPlug(string) (struct{}, error) { return struct{}{}, nil }

func (a *Agent) plug(ctx context.Context, tenant, netID, portID string, spec AttachmentSpec, k keyed) error {
	if _, err := a.store.port(ctx, tenant, netID, portID); err != nil {
		return err
	}
	// The plug-order rules (API.md): the id plugged anywhere, this port
	// included, is alreadyAttached; the port holding another id is portInUse.
	if att, err := a.store.attachmentByInterface(ctx, spec.ID); err != nil {
		return err
	} else if att != nil {
		return alreadyAttached(spec.ID, att.Port)
	}
	if att, err := a.store.attachmentOfPort(ctx, portID); err != nil {
		return err
	} else if att != nil {
		return portInUse(portID, att.InterfaceID)
	}
	ops, err := a.store.insertAttachmentOps(nil, a.attachmentRow(spec, portID, netID))
	if err == nil {
		ops, err = a.store.insertKeyOps(ops, k, portID)
	}
	if err != nil {
		return err
	}
	_, err = a.store.transact(ctx, ops)
	return a.plugError(err, spec.ID, netID, portID)
}

// fingerprintFields are the fields of a (normalised) plug request that
// tell one plug from another, for the Idempotency-Key's fingerprint.
func (spec AttachmentSpec) fingerprintFields() []string {
	return []string{spec.ID, spec.Device, spec.MAC, spec.VMID, spec.Host}
}

// plugError turns what the DB said about an attachment insert into the API's
// errors: the unique indexes settle races the cache checks could not see.
func (a *Agent) plugError(err error, ifaceID, netID, portID string) error {
	if err == nil {
		return nil
	}
	switch constraintOn(err) {
	case "interface_id":
		return newError(KindAlreadyAttached, err, "The attachment %s is already plugged into another port", ifaceID)
	case "port":
		return newError(KindPortInUse, err, "Port %s got another attachment meanwhile", portID)
	}
	if isReferentialIntegrity(err) {
		return portNotFound(netID, portID)
	}
	return err
}

func (a *Agent) attachmentRow(spec AttachmentSpec, portID, netID string) *qdb.Attachment {
	return &qdb.Attachment{
		UUID:        "att",
		InterfaceID: spec.ID,
		Port:        portID,
		Network:     netID,
		Host:        spec.Host,
		Device:      spec.Device,
		MAC:         spec.MAC,
		VmID:        spec.VMID,
		Status:      StatusProvisioning,
		Reason:      "waiting for the agent of host " + spec.Host,
		CreatedAt:   createdAt(),
	}
}

func alreadyAttached(ifaceID, portID string) *Error {
	return newError(KindAlreadyAttached, nil, "The attachment %s is already plugged into port %s", ifaceID, portID)
}

func (a *Agent) Unplug(ctx context.Context, tenant, netID, portID string) error {
	if _, err := a.store.port(ctx, tenant, netID, portID); err != nil {
		return err
	}
	att, err := a.store.attachmentOfPort(ctx, portID)
	if err != nil || att == nil {
		return err // nothing plugged: a no-op, as released
	}
	ops, err := a.store.deleteAttachmentOps(nil, att.UUID)
	if err != nil {
		return err
	}
	_, err = a.store.transact(ctx, ops)
	return err
}

func (a *Agent) PlugIntoNetwork(ctx context.Context, tenant, netID string, spec AttachmentSpec) (Port, error) {
	spec, err := a.validAttachment(spec)
	if err != nil {
		return Port{}, err
	}
	k, err := keyedRequest(ctx, tenant, "plug-into-network", append([]string{netID}, spec.fingerprintFields()...)...)
	if err != nil {
		return Port{}, err
	}
	return runKeyed(ctx, a.store, k,
		func() (Port, error) { return a.plugIntoNetwork(ctx, tenant, netID, spec, k) },
		func(portID string) (Port, error) { return a.replayPlugged(ctx, tenant, netID, portID, spec), nil })
}

func (a *Agent) plugIntoNetwork(ctx context.Context, tenant, netID string, spec AttachmentSpec, k keyed) (Port, error) {
	for attempt := 0; attempt < 8; attempt++ {
		port, err := a.plugIntoNetworkOnce(ctx, tenant, netID, spec, k)
		if KindOf(err) == KindPortInUse && a.store.keyTaken(ctx, k) == nil {
			continue // the free port we chose was taken meanwhile: choose again
		}
		return port, err
	}
	return Port{}, newError(KindUnavailable, nil, "could not find a free port on network %s: too much contention, try again", netID)
}

// replayPlugged answers a retried plug-into-network with the port it
// plugged: as it is now, or, deleted since, as the plug left it.
func (a *Agent) replayPlugged(ctx context.Context, tenant, netID, portID string, spec AttachmentSpec) Port {
	if p, err := a.GetPort(ctx, tenant, netID, portID); err == nil {
		return p
	}
	att := qdb.Attachment{InterfaceID: spec.ID, Port: portID, Network: netID, Status: StatusProvisioning}
	return toPort(qdb.Port{UUID: portID, Network: netID, AdminState: PortActive}, &att)
}

func (a *Agent) plugIntoNetworkOnce(ctx context.Context, tenant, netID string, spec AttachmentSpec, k keyed) (Port, error) {
	if _, err := a.store.network(ctx, tenant, netID); err != nil {
		return Port{}, err
	}
	if att, err := a.store.attachmentByInterface(ctx, spec.ID); err != nil {
		return Port{}, err
	} else if att != nil {
		return Port{}, alreadyAttached(spec.ID, att.Port)
	}
	ports, err := a.store.portsOf(ctx, netID)
	if err != nil {
		return Port{}, err
	}
	atts, err := a.store.attachmentsOf(ctx, netID)
	if err != nil {
		return Port{}, err
	}
	taken := indexAttachmentsByPort(atts)
	sortByCreation(ports, func(p qdb.Port) (int64, string) { return int64(p.CreatedAt), p.UUID })
	var ops []ovsdb.Operation
	// A new port's id is chosen here, so that the attachment and the key's
	// record can name it in the same transaction.
	port := qdb.Port{UUID: uuid.NewString(), Network: netID, TenantID: tenant, AdminState: PortActive, CreatedAt: createdAt()}
	isNew := true
	for _, p := range ports {
		if p.AdminState == PortActive && taken[p.UUID] == nil {
			port, isNew = p, false
			break
		}
	}
	if isNew {
		ops, err = a.store.insertPortOps(ops, &port)
	}
	if err == nil {
		ops, err = a.store.insertAttachmentOps(ops, a.attachmentRow(spec, port.UUID, netID))
	}
	if err == nil {
		ops, err = a.store.insertKeyOps(ops, k, port.UUID)
	}
	if err != nil {
		return Port{}, err
	}
	if _, err := a.store.transact(ctx, ops); err != nil {
		return Port{}, a.plugError(err, spec.ID, netID, port.UUID)
	}
	att := qdb.Attachment{InterfaceID: spec.ID, Port: port.UUID, Network: netID, Status: StatusProvisioning}
	return toPort(port, &att), nil
}
