package agent

import (
	"sync"

	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// tally keeps the counts of Counts current from the cache's events, so
// that a scrape or a status line costs the same whatever the size of the
// DB or of this host: networks, and this host's attachments by status and
// their ports by op-status. It is keyed by row, so an event seen twice (a
// reconnect refills the cache) counts once; and each reconcile pass resets
// it from what it read (recount), which also drops rows a reconnect lost
// without an event.
type tally struct {
	host string

	mu          sync.Mutex
	networks    map[string]bool
	attachments map[string]attachmentCount // by row UUID
}

// attachmentCount is what one attachment of this host adds to the counts.
type attachmentCount struct{ status, portStatus string }

func newTally(host string) *tally {
	return &tally{host: host, networks: map[string]bool{}, attachments: map[string]attachmentCount{}}
}

func countOf(a *qdb.Attachment) attachmentCount {
	st := a.Status
	if st == "" {
		st = StatusProvisioning
	}
	admin := PortActive // unknown (an attachment of schema 1.2.0) until repaired
	if a.AdminState != nil {
		admin = *a.AdminState
	}
	return attachmentCount{status: st, portStatus: PortOpStatus(admin, &Attachment{Status: a.Status})}
}

// apply records one cache event (old is nil for an add, m for a delete).
func (t *tally) apply(table string, old, m model.Model) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch table {
	case qdb.NetworkTable:
		if n, ok := old.(*qdb.Network); ok && m == nil {
			delete(t.networks, n.UUID)
		}
		if n, ok := m.(*qdb.Network); ok {
			t.networks[n.UUID] = true
		}
	case qdb.AttachmentTable:
		if a, ok := old.(*qdb.Attachment); ok {
			delete(t.attachments, a.UUID)
		}
		if a, ok := m.(*qdb.Attachment); ok && a.Host == t.host {
			t.attachments[a.UUID] = countOf(a)
		}
	}
}

// recount resets the tally to the rows a reconcile pass read.
func (t *tally) recount(nets []qdb.Network, atts []qdb.Attachment) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.networks = make(map[string]bool, len(nets))
	for _, n := range nets {
		t.networks[n.UUID] = true
	}
	t.attachments = make(map[string]attachmentCount, len(atts))
	for i := range atts {
		t.attachments[atts[i].UUID] = countOf(&atts[i])
	}
}

func (t *tally) counts() Counts {
	c := Counts{Ports: map[string]int{}, Attachments: map[string]int{}}
	for _, s := range []string{StatusUp, StatusDown, StatusProvisioning} {
		c.Ports[s] = 0
	}
	for _, s := range []string{StatusUp, StatusDown, StatusProvisioning, StatusFailed} {
		c.Attachments[s] = 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c.Networks = len(t.networks)
	for _, a := range t.attachments {
		c.Attachments[a.status]++
		c.Ports[a.portStatus]++
	}
	return c
}
