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
	byStatus    map[string]int             // attachments by status: the sums of attachments,
	byPort      map[string]int             // kept with it, so that counts walks nothing
}

// attachmentCount is what one attachment of this host adds to the counts.
type attachmentCount struct{ status, portStatus string }

func newTally(host string) *tally {
	t := &tally{host: host}
	t.reset(0, 0)
	return t
}

// reset empties the tally, sized for the rows to come (mu held, or unshared).
func (t *tally) reset(nets, atts int) {
	t.networks = make(map[string]bool, nets)
	t.attachments = make(map[string]attachmentCount, atts)
	t.byStatus, t.byPort = map[string]int{}, map[string]int{}
}

// set records (or, with ok false, forgets) one attachment's count (mu held).
func (t *tally) set(id string, c attachmentCount, ok bool) {
	if was, had := t.attachments[id]; had {
		t.byStatus[was.status]--
		t.byPort[was.portStatus]--
		delete(t.attachments, id)
	}
	if ok {
		t.attachments[id] = c
		t.byStatus[c.status]++
		t.byPort[c.portStatus]++
	}
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
			t.set(a.UUID, attachmentCount{}, false)
		}
		if a, ok := m.(*qdb.Attachment); ok && a.Host == t.host {
			t.set(a.UUID, countOf(a), true)
		}
	}
}

// recount resets the tally to the rows a reconcile pass read. It runs on
// every pass, and the events have almost always kept the tally right: so it
// checks first (lookups) and rebuilds the maps only when they differ.
func (t *tally) recount(nets []qdb.Network, atts []qdb.Attachment) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.holds(nets, atts) {
		return
	}
	t.reset(len(nets), len(atts))
	for _, n := range nets {
		t.networks[n.UUID] = true
	}
	for i := range atts {
		t.set(atts[i].UUID, countOf(&atts[i]), true)
	}
}

// holds tells whether the tally is exactly of these rows (mu held): as many
// of each, every one recorded with its count. (The sums follow from the
// rows: set keeps them together.)
func (t *tally) holds(nets []qdb.Network, atts []qdb.Attachment) bool {
	if len(t.networks) != len(nets) || len(t.attachments) != len(atts) {
		return false
	}
	for _, n := range nets {
		if !t.networks[n.UUID] {
			return false
		}
	}
	for i := range atts {
		if c, ok := t.attachments[atts[i].UUID]; !ok || c != countOf(&atts[i]) {
			return false
		}
	}
	return true
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
	for st, n := range t.byStatus {
		c.Attachments[st] = n
	}
	for st, n := range t.byPort {
		c.Ports[st] = n
	}
	return c
}
