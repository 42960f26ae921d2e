package agent

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// Attachments: plugging an interface into a port (or into a free port of a
// network), unplugging it, and waiting for the status its host's agent
// writes back.

func (a *Agent) GetAttachment(ctx context.Context, tenant, netID, portID string) (*Attachment, error) {
	att, err := a.store.attachment(ctx, tenant, netID, portID)
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

// waitPoll is how often WaitAttachment reads an attachment the cache does
// not hold (another host's, or none yet) again.
const waitPoll = 200 * time.Millisecond

// WaitAttachment blocks until the port's attachment has the status, or is
// FAILED (no wait outlasts a failure), or ctx ends; it then returns the
// attachment as it is (nil when the port holds none). An attachment of this
// host is in the cache, and its wait is woken by the monitor; another host's
// is not, and is read again every waitPoll.
func (a *Agent) WaitAttachment(ctx context.Context, tenant, netID, portID, status string) (*Attachment, error) {
	poll := time.NewTimer(waitPoll)
	defer poll.Stop()
	for {
		changed := a.store.watch() // before the read, so no change is missed
		att, err := a.GetAttachment(ctx, tenant, netID, portID)
		if err != nil {
			return nil, err
		}
		if att != nil && (att.Status == status || att.Status == StatusFailed) {
			return att, nil
		}
		var again <-chan time.Time
		if att == nil || att.Host != a.cfg.Host {
			poll.Reset(waitPoll)
			again = poll.C
		}
		select {
		case <-changed:
		case <-again:
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

// plug inserts the attachment without looking for one first: the schema's
// unique indexes refuse a clash, and only then does plugConflict read what
// it clashed with. So a plug costs a select by UUID and one transaction,
// and no scan of the attachments on the server.
func (a *Agent) plug(ctx context.Context, tenant, netID, portID string, spec AttachmentSpec, k keyed) error {
	for attempt := 0; attempt < 8; attempt++ {
		p, err := a.store.portRow(ctx, tenant, netID, portID)
		if err != nil {
			return err
		}
		ops, err := a.plugOps(nil, spec, p, false, k)
		if err != nil {
			return err
		}
		_, err = a.store.transact(ctx, ops)
		if isStaleAdminState(err) {
			continue // the port's admin state changed since it was read: read it again
		}
		return a.plugConflict(ctx, err, spec.ID, netID, portID)
	}
	return newError(KindUnavailable, nil, "port %s keeps changing: try again", portID)
}

// plugConflict turns a plug's failure into the API's error, by the
// plug-order rules (docs/api.md, Plug an attachment): the id plugged anywhere, this port included,
// is alreadyAttached; the port holding another id is portInUse. Which index
// the DB names is not enough (both clash when the id is in this very port),
// so it reads what is plugged.
func (a *Agent) plugConflict(ctx context.Context, err error, ifaceID, netID, portID string) error {
	on := constraintOn(err)
	if on != "interface_id" && on != "port" {
		return a.plugError(err, ifaceID, netID, portID)
	}
	if att, rerr := a.store.attachmentByInterface(ctx, ifaceID); rerr == nil && att != nil {
		return alreadyAttached(ifaceID, att.Port)
	}
	if on == "port" {
		if att, rerr := a.store.attachmentOn(ctx, portID); rerr == nil && att != nil {
			return portInUse(portID, att.InterfaceID)
		}
	}
	return a.plugError(err, ifaceID, netID, portID)
}

// plugOps are the operations of plugging spec into port p (as read): the
// attachment, with the port's admin state for the host that wires it; a
// check that that state still holds when the transaction commits (a
// concurrent SetPortState would otherwise leave the copy stale); p out of
// its network's free ports; and k's record.
// A port inserted by the same transaction (isNew) needs neither.
func (a *Agent) plugOps(ops []ovsdb.Operation, spec AttachmentSpec, p qdb.Port, isNew bool, k keyed) ([]ovsdb.Operation, error) {
	ops, err := a.store.insertAttachmentOps(ops, a.attachmentRow(spec, p.UUID, p.Network, p.AdminState))
	if err != nil {
		return ops, err
	}
	if !isNew {
		ops = append(ops, adminStateHolds(p.UUID, p.AdminState))
		if p.AdminState == PortActive { // DOWN ports are never in free_ports
			ops = freePortOps(ops, p.Network, p.UUID, false)
		}
	}
	return a.store.insertKeyOps(ops, k, p.UUID)
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

func (a *Agent) attachmentRow(spec AttachmentSpec, portID, netID, adminState string) *qdb.Attachment {
	return &qdb.Attachment{
		AdminState:  &adminState,
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
	p, att, err := a.store.port(ctx, tenant, netID, portID)
	if err != nil || att == nil {
		return err // nothing plugged: a no-op, as released
	}
	ops, err := a.store.deleteAttachmentOps(nil, att.UUID)
	if err != nil {
		return err
	}
	if p.AdminState == PortActive {
		ops = freePortOps(ops, netID, portID, true)
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

// plugIntoNetworkOnce plugs into one of the network's free ports (its
// free_ports set: one select by UUID, whatever the network's size), or into
// a new ACTIVE port when it has none. A free port that turns out not to be
// (taken meanwhile, or a stale hint) leaves the set and the caller retries.
func (a *Agent) plugIntoNetworkOnce(ctx context.Context, tenant, netID string, spec AttachmentSpec, k keyed) (Port, error) {
	if _, err := a.store.network(ctx, tenant, netID); err != nil {
		return Port{}, err
	}
	free, err := a.store.freePort(ctx, netID)
	if err != nil {
		return Port{}, err
	}
	port := qdb.Port{UUID: free, Network: netID, TenantID: tenant, AdminState: PortActive}
	var ops []ovsdb.Operation
	if free == "" {
		// A new port's id is chosen here, so that the attachment and the
		// key's record can name it in the same transaction.
		port.UUID, port.CreatedAt = uuid.NewString(), createdAt()
		ops, err = a.store.insertPortOps(ops, &port, false)
		if err != nil {
			return Port{}, err
		}
	}
	if ops, err = a.plugOps(ops, spec, port, free == "", k); err != nil {
		return Port{}, err
	}
	if _, err := a.store.transact(ctx, ops); err != nil {
		err = a.plugConflict(ctx, err, spec.ID, netID, port.UUID)
		if free != "" && (isStaleAdminState(err) || KindOf(err) == KindPortInUse || KindOf(err) == KindPortNotFound) {
			a.store.dropFreePort(ctx, netID, free)
			return Port{}, portInUse(free, "")
		}
		return Port{}, err
	}
	att := qdb.Attachment{InterfaceID: spec.ID, Port: port.UUID, Network: netID, Status: StatusProvisioning}
	return toPort(port, &att), nil
}
