package agent

import (
	"context"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// Writes of the Attachment table (its reads are in store_read.go).

func (s *Store) insertAttachmentOps(ops []ovsdb.Operation, row *qdb.Attachment) ([]ovsdb.Operation, error) {
	return s.insertOps(ops, "build attachment insert", row)
}

func (s *Store) deleteAttachmentOps(ops []ovsdb.Operation, attUUID string) ([]ovsdb.Operation, error) {
	return s.deleteOps(ops, "build attachment delete", &qdb.Attachment{UUID: attUUID})
}

// setStatusOps appends the update of one attachment's status and reason.
func (s *Store) setStatusOps(ops []ovsdb.Operation, attUUID, status, reason string) ([]ovsdb.Operation, error) {
	row := &qdb.Attachment{UUID: attUUID, Status: status, Reason: reason}
	return s.updateOps(ops, "build status update", row, &row.Status, &row.Reason)
}

// setAdminStateOps appends the update of the copy of its port's admin state
// an attachment carries (the reconciler's repair of rows without one).
func (s *Store) setAdminStateOps(ops []ovsdb.Operation, attUUID, state string) ([]ovsdb.Operation, error) {
	row := &qdb.Attachment{UUID: attUUID, AdminState: &state}
	return s.updateOps(ops, "build admin state update", row, &row.AdminState)
}

// portAdminStates reads, in one transaction of selects by UUID, the admin
// state of the ports of the attachments that carry none (plugged by an agent
// of schema 1.2.0, which does not write it), or of all when all, by port
// id. Nothing to read: no transaction.
func (s *Store) portAdminStates(ctx context.Context, atts []qdb.Attachment, all bool) (map[string]string, error) {
	var ops []ovsdb.Operation
	for _, a := range atts {
		if all || a.AdminState == nil {
			op := selectOp(qdb.PortTable, uuidEq(a.Port))
			op.Columns = []string{"_uuid", "admin_state"}
			ops = append(ops, op)
		}
	}
	if len(ops) == 0 {
		return nil, nil
	}
	res, err := s.read(ctx, ops...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ops))
	for _, r := range res {
		ports, err := decodeRows[qdb.Port](s, r.Rows)
		if err != nil {
			return nil, err
		}
		for _, p := range ports {
			out[p.UUID] = p.AdminState
		}
	}
	return out, nil
}
