package agent

import (
	"testing"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// TestTally: the counts follow adds, updates and deletes of this host's
// attachments, ignore other hosts', count a row seen twice (a reconnect
// refilling the cache) once, and are reset by a pass's recount.
func TestTally(t *testing.T) {
	tl := newTally("hv1")
	down := PortDown
	a := &qdb.Attachment{UUID: "a", Host: "hv1", Status: StatusProvisioning}
	tl.apply(qdb.AttachmentTable, nil, a)
	tl.apply(qdb.AttachmentTable, nil, a) // again, as after a reconnect
	tl.apply(qdb.AttachmentTable, nil, &qdb.Attachment{UUID: "other", Host: "hv2", Status: StatusUp})
	tl.apply(qdb.NetworkTable, nil, &qdb.Network{UUID: "n"})
	up := &qdb.Attachment{UUID: "a", Host: "hv1", Status: StatusUp}
	tl.apply(qdb.AttachmentTable, a, up)
	tl.apply(qdb.AttachmentTable, nil, &qdb.Attachment{UUID: "b", Host: "hv1", Status: StatusUp, AdminState: &down})
	c := tl.counts()
	if c.Networks != 1 || c.Attachments[StatusUp] != 2 || c.Attachments[StatusProvisioning] != 0 ||
		c.Ports[StatusUp] != 1 || c.Ports[StatusDown] != 1 {
		t.Fatalf("counts = %+v", c)
	}
	tl.apply(qdb.AttachmentTable, up, nil)
	tl.apply(qdb.NetworkTable, &qdb.Network{UUID: "n"}, nil)
	if c := tl.counts(); c.Networks != 0 || c.Attachments[StatusUp] != 1 || c.Ports[StatusUp] != 0 {
		t.Fatalf("counts after deletes = %+v", c)
	}
	tl.recount([]qdb.Network{{UUID: "n1"}, {UUID: "n2"}}, []qdb.Attachment{{UUID: "c", Host: "hv1"}})
	if c := tl.counts(); c.Networks != 2 || c.Attachments[StatusProvisioning] != 1 || c.Attachments[StatusUp] != 0 ||
		c.Ports[StatusProvisioning] != 1 {
		t.Fatalf("counts after a recount = %+v", c)
	}
}
