package agent

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/client"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// The read side: everything comes from libovsdb's cache, which the monitor
// keeps equal to the Quantum DB, so reads cost no round trip.

// snapshot is a consistent-enough view of the cache for one request.
type snapshot struct {
	networks    []qdb.Network
	ports       []qdb.Port
	attachments []qdb.Attachment
}

func (s *Store) snapshot(ctx context.Context) (snapshot, error) {
	var snap snapshot
	if err := s.client.List(ctx, &snap.networks); err != nil {
		return snap, unavailable(err)
	}
	if err := s.client.List(ctx, &snap.ports); err != nil {
		return snap, unavailable(err)
	}
	if err := s.client.List(ctx, &snap.attachments); err != nil {
		return snap, unavailable(err)
	}
	return snap, nil
}

// network returns the tenant's network, or networkNotFound: another tenant's
// network is not found either, so ids do not leak across tenants.
func (s *Store) network(ctx context.Context, tenant, id string) (qdb.Network, error) {
	if uuid.Validate(id) != nil {
		return qdb.Network{}, networkNotFound(id)
	}
	n := qdb.Network{UUID: id}
	if err := s.client.Get(ctx, &n); err != nil || n.TenantID != tenant {
		return qdb.Network{}, networkNotFound(id)
	}
	return n, nil
}

// port returns the port of the tenant's network, or the right not-found.
func (s *Store) port(ctx context.Context, tenant, netID, portID string) (qdb.Port, error) {
	if _, err := s.network(ctx, tenant, netID); err != nil {
		return qdb.Port{}, err
	}
	if uuid.Validate(portID) != nil {
		return qdb.Port{}, portNotFound(netID, portID)
	}
	p := qdb.Port{UUID: portID}
	if err := s.client.Get(ctx, &p); err != nil || p.Network != netID {
		return qdb.Port{}, portNotFound(netID, portID)
	}
	return p, nil
}

// attachmentOfPort returns the attachment plugged into the port, if any.
func (s *Store) attachmentOfPort(ctx context.Context, portID string) (*qdb.Attachment, error) {
	return s.attachmentBy(ctx, &qdb.Attachment{Port: portID})
}

// attachmentByInterface finds where an interface id is plugged, if anywhere.
func (s *Store) attachmentByInterface(ctx context.Context, ifaceID string) (*qdb.Attachment, error) {
	return s.attachmentBy(ctx, &qdb.Attachment{InterfaceID: ifaceID})
}

// attachmentBy looks an attachment up through one of the schema's unique
// indexes (interface_id or port): a map lookup in the cache, not a scan.
func (s *Store) attachmentBy(ctx context.Context, key *qdb.Attachment) (*qdb.Attachment, error) {
	err := s.client.Get(ctx, key)
	switch {
	case errors.Is(err, client.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, unavailable(err)
	}
	return key, nil
}

func (s *Store) portsOf(ctx context.Context, netID string) ([]qdb.Port, error) {
	var ports []qdb.Port
	err := s.client.Where(&qdb.Port{Network: netID}).List(ctx, &ports)
	if err != nil {
		return nil, unavailable(err)
	}
	return ports, nil
}

func (s *Store) attachmentsOf(ctx context.Context, netID string) ([]qdb.Attachment, error) {
	var atts []qdb.Attachment
	err := s.client.Where(&qdb.Attachment{Network: netID}).List(ctx, &atts)
	if err != nil {
		return nil, unavailable(err)
	}
	return atts, nil
}

// Conversions from DB rows to the model. Lists are sorted by id so that
// responses are stable.

func toNetwork(n qdb.Network) Network {
	seg := Segment{Type: n.NetworkType, PhysicalNetwork: n.PhysicalNetwork, SegmentationID: n.SegmentationID}
	return Network{ID: n.UUID, Tenant: n.TenantID, Name: n.Name, OpStatus: StatusUp, Segment: seg, created: int64(n.CreatedAt)}
}

func toAttachment(a qdb.Attachment) *Attachment {
	return &Attachment{
		ID: a.InterfaceID, PortID: a.Port, NetworkID: a.Network, Host: a.Host,
		Device: a.Device, MAC: a.MAC, VMID: a.VmID, Status: a.Status, Reason: a.Reason,
		created: int64(a.CreatedAt),
	}
}

func toPort(p qdb.Port, att *qdb.Attachment) Port {
	out := Port{ID: p.UUID, NetworkID: p.Network, State: p.AdminState, created: int64(p.CreatedAt)}
	if att != nil {
		out.Attachment = toAttachment(*att)
	}
	out.OpStatus = PortOpStatus(out.State, out.Attachment)
	return out
}

// joinPorts builds the model ports of one network from rows.
func joinPorts(ports []qdb.Port, attByPort map[string]*qdb.Attachment) []Port {
	out := make([]Port, 0, len(ports))
	for _, p := range ports {
		out = append(out, toPort(p, attByPort[p.UUID]))
	}
	sortByCreation(out, func(p Port) (int64, string) { return p.created, p.ID })
	return out
}

func indexAttachmentsByPort(atts []qdb.Attachment) map[string]*qdb.Attachment {
	m := make(map[string]*qdb.Attachment, len(atts))
	for i := range atts {
		m[atts[i].Port] = &atts[i]
	}
	return m
}
