package agent

import (
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
