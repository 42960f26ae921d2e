package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// The read side. Networks (but for an API list, or one the cache does not
// have yet) and this host's attachments come from libovsdb's cache
// (newMonitor), which costs no round trip. Ports and the attachments
// of any host are read with select transactions on the same connection: a
// read after this agent's own write sees it (the write waited for the
// barrier), and the cache does not grow with the fleet.

// read runs a read-only transaction (selects) and checks its results.
func (s *Store) read(ctx context.Context, ops ...ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	res, err := s.conn.Transact(ctx, ops...)
	if err != nil {
		return nil, unavailable(fmt.Errorf("Quantum DB select: %w", err))
	}
	if err := checkResults(res, ops); err != nil {
		return nil, unavailable(err)
	}
	return res, nil
}

func selectOp(table string, where ...ovsdb.Condition) ovsdb.Operation {
	return ovsdb.Operation{Op: ovsdb.OperationSelect, Table: table, Where: where}
}

func eq(column string, value any) ovsdb.Condition {
	return ovsdb.NewCondition(column, ovsdb.ConditionEqual, value)
}

func uuidEq(id string) ovsdb.Condition { return eq("_uuid", ovsdb.UUID{GoUUID: id}) }

// decodeRows turns the rows a select returned into models.
func decodeRows[T any, PT interface {
	*T
	model.Model
}](s *Store, rows []ovsdb.Row) ([]T, error) {
	out := make([]T, len(rows))
	for i := range rows {
		if err := s.decodeRow(&rows[i], PT(&out[i])); err != nil {
			return nil, unavailable(fmt.Errorf("decode a selected row: %w", err))
		}
	}
	return out, nil
}

// attachmentsOn returns host's attachments from the cache, which holds those
// of this store's host. (The filter matters on a server that ignores monitor
// conditions, such as libovsdb's in-process one in tests.) Every reconcile
// pass reads them, and every plug wakes a pass or two: so it walks the
// cache's rows in place and copies each match once, shallowly, where
// libovsdb's WhereCache calls its predicate by reflection on every row and
// then deep-copies each match twice. The shallow copy is safe: the cache
// never modifies a row (an update replaces it with a new object), so what
// a copy shares with it (AdminState's string) stays as read; the callers
// only read the copies.
func (s *Store) attachmentsOn(_ context.Context, host string) ([]qdb.Attachment, error) {
	table := s.client.Cache().Table(qdb.AttachmentTable)
	if table == nil {
		return nil, unavailable(errors.New("the cache has no Attachment table"))
	}
	rows := table.RowsShallow()
	atts := make([]qdb.Attachment, 0, len(rows))
	for _, m := range rows {
		if a, ok := m.(*qdb.Attachment); ok && a.Host == host {
			atts = append(atts, *a)
		}
	}
	return atts, nil
}

// network returns the tenant's network, or networkNotFound: another tenant's
// network is not found either, so ids do not leak across tenants.
func (s *Store) network(ctx context.Context, tenant, id string) (qdb.Network, error) {
	if uuid.Validate(id) != nil {
		return qdb.Network{}, networkNotFound(id)
	}
	n := qdb.Network{UUID: id}
	if err := s.client.Get(ctx, &n); err != nil {
		// Not in the cache (yet): another agent may have created it a
		// moment ago, and its update is on its way. Ask the server.
		found, err := s.selectNetwork(ctx, id)
		if err != nil {
			return qdb.Network{}, err
		}
		if found == nil {
			return qdb.Network{}, networkNotFound(id)
		}
		n = *found
	}
	if n.TenantID != tenant {
		return qdb.Network{}, networkNotFound(id)
	}
	return n, nil
}

// port returns the port of the tenant's network and the attachment plugged
// into it (nil: none), or the right not-found: one select transaction. An
// attachment of this host comes from the cache (its index on port), and then
// only the port is selected, by UUID: a select on Attachment.port is a scan
// of every attachment of the fleet on the server (ovsdb-server uses no index
// but _uuid's in a where clause), and an agent waiting for its own plug to
// be UP reads it on every change.
func (s *Store) port(ctx context.Context, tenant, netID, portID string) (qdb.Port, *qdb.Attachment, error) {
	if att := s.cachedAttachmentOn(ctx, portID); att != nil {
		p, err := s.portRow(ctx, tenant, netID, portID)
		if err != nil {
			return p, nil, err
		}
		return p, att, nil
	}
	res, err := s.readPort(ctx, tenant, netID, portID, selectOp(qdb.AttachmentTable, eq("port", ovsdb.UUID{GoUUID: portID})))
	if err != nil {
		return qdb.Port{}, nil, err
	}
	p, err := decodePort(s, res[0], netID, portID)
	if err != nil {
		return p, nil, err
	}
	atts, err := decodeRows[qdb.Attachment](s, res[1].Rows)
	if err != nil || len(atts) == 0 {
		return p, nil, err
	}
	return p, &atts[0], nil
}

// attachment returns the attachment plugged into the port of the tenant's
// network (nil: none), or the right not-found. One of this host's, from
// the cache, costs no round trip: it references its port (the schema keeps
// the port while it exists) and names its network, whose tenant the cache
// knows. Any other is read with port's select transaction.
func (s *Store) attachment(ctx context.Context, tenant, netID, portID string) (*qdb.Attachment, error) {
	if att := s.cachedAttachmentOn(ctx, portID); att != nil && att.Network == netID {
		if _, err := s.network(ctx, tenant, netID); err != nil {
			return nil, err
		}
		return att, nil
	}
	_, att, err := s.port(ctx, tenant, netID, portID)
	return att, err
}

// cachedAttachmentOn returns this host's attachment on the port from the
// cache, nil when the cache holds none (another host's, or none at all).
func (s *Store) cachedAttachmentOn(ctx context.Context, portID string) *qdb.Attachment {
	att := &qdb.Attachment{Port: portID}
	if uuid.Validate(portID) != nil || s.client.Get(ctx, att) != nil || att.Port != portID || att.Host != s.host {
		return nil
	}
	return att
}

// portRow returns the port of the tenant's network alone: a select by UUID,
// which the server answers without a scan (a plug needs no more: the
// unique indexes tell what it clashes with).
func (s *Store) portRow(ctx context.Context, tenant, netID, portID string) (qdb.Port, error) {
	res, err := s.readPort(ctx, tenant, netID, portID)
	if err != nil {
		return qdb.Port{}, err
	}
	return decodePort(s, res[0], netID, portID)
}

// readPort checks the network and selects the port by UUID, with more
// selects in the same transaction.
func (s *Store) readPort(ctx context.Context, tenant, netID, portID string, more ...ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	if _, err := s.network(ctx, tenant, netID); err != nil {
		return nil, err
	}
	if uuid.Validate(portID) != nil {
		return nil, portNotFound(netID, portID)
	}
	return s.read(ctx, append([]ovsdb.Operation{selectOp(qdb.PortTable, uuidEq(portID))}, more...)...)
}

func decodePort(s *Store, res ovsdb.OperationResult, netID, portID string) (qdb.Port, error) {
	ports, err := decodeRows[qdb.Port](s, res.Rows)
	if err != nil {
		return qdb.Port{}, err
	}
	if len(ports) != 1 || ports[0].Network != netID {
		return qdb.Port{}, portNotFound(netID, portID)
	}
	return ports[0], nil
}

// attachmentByInterface finds where an interface id is plugged, if anywhere.
func (s *Store) attachmentByInterface(ctx context.Context, ifaceID string) (*qdb.Attachment, error) {
	return s.attachmentWhere(ctx, eq("interface_id", ifaceID))
}

// attachmentWhere returns the attachment matching a condition on one of the
// unique columns (interface_id, port), if any.
func (s *Store) attachmentWhere(ctx context.Context, cond ovsdb.Condition) (*qdb.Attachment, error) {
	res, err := s.read(ctx, selectOp(qdb.AttachmentTable, cond))
	if err != nil {
		return nil, err
	}
	atts, err := decodeRows[qdb.Attachment](s, res[0].Rows)
	if err != nil || len(atts) == 0 {
		return nil, err
	}
	return &atts[0], nil
}

// attachmentOn returns the attachment plugged into the port, if any.
func (s *Store) attachmentOn(ctx context.Context, portID string) (*qdb.Attachment, error) {
	return s.attachmentWhere(ctx, eq("port", ovsdb.UUID{GoUUID: portID}))
}

// networkContents are the ports and attachments of some networks, read in
// one transaction.
type networkContents struct {
	ports       map[string][]qdb.Port // by network
	attByPort   map[string]*qdb.Attachment
	attachments map[string][]qdb.Attachment // by network
}

func (s *Store) contentsOf(ctx context.Context, netIDs ...string) (networkContents, error) {
	c := networkContents{ports: map[string][]qdb.Port{}, attByPort: map[string]*qdb.Attachment{}, attachments: map[string][]qdb.Attachment{}}
	if len(netIDs) == 0 {
		return c, nil
	}
	ops := make([]ovsdb.Operation, 0, 2*len(netIDs))
	for _, id := range netIDs {
		ref := eq("network", ovsdb.UUID{GoUUID: id})
		ops = append(ops, selectOp(qdb.PortTable, ref), selectOp(qdb.AttachmentTable, ref))
	}
	res, err := s.read(ctx, ops...)
	if err != nil {
		return c, err
	}
	for i, id := range netIDs {
		ports, err := decodeRows[qdb.Port](s, res[2*i].Rows)
		if err != nil {
			return c, err
		}
		atts, err := decodeRows[qdb.Attachment](s, res[2*i+1].Rows)
		if err != nil {
			return c, err
		}
		c.ports[id], c.attachments[id] = ports, atts
		for j := range atts {
			c.attByPort[atts[j].Port] = &atts[j]
		}
	}
	return c, nil
}

// attachmentsOf returns the attachments of one network, of every host.
func (s *Store) attachmentsOf(ctx context.Context, netID string) ([]qdb.Attachment, error) {
	c, err := s.contentsOf(ctx, netID)
	return c.attachments[netID], err
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
