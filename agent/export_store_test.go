package agent

import (
	"context"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// CachedRows is how many rows of table the store's cache holds (for tests
// that show what an agent does not monitor).
func CachedRows(s *Store, table string) int {
	switch table {
	case qdb.AttachmentTable:
		var rows []qdb.Attachment
		_ = s.client.List(context.Background(), &rows)
		return len(rows)
	case qdb.PortTable:
		var rows []qdb.Port
		_ = s.client.List(context.Background(), &rows)
		return len(rows)
	}
	return -1
}
