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

// TestTallyRecountChecks: a recount of the rows the tally already holds
// changes nothing, and one that differs from it in a single count, row or
// network is taken as it is.
func TestTallyRecountChecks(t *testing.T) {
	tl := newTally("hv1")
	nets := []qdb.Network{{UUID: "n"}}
	atts := []qdb.Attachment{{UUID: "a", Host: "hv1", Status: StatusUp}, {UUID: "b", Host: "hv1", Status: StatusUp}}
	for _, a := range atts {
		tl.apply(qdb.AttachmentTable, nil, &a)
	}
	tl.apply(qdb.NetworkTable, nil, &nets[0])
	tl.recount(nets, atts)
	if c := tl.counts(); c.Networks != 1 || c.Attachments[StatusUp] != 2 {
		t.Fatalf("counts after a recount of the same rows = %+v", c)
	}
	changed := []qdb.Attachment{atts[0], {UUID: "b", Host: "hv1", Status: StatusDown}}
	tl.recount(nets, changed)
	if c := tl.counts(); c.Attachments[StatusUp] != 1 || c.Attachments[StatusDown] != 1 {
		t.Fatalf("counts after a recount with one status changed = %+v", c)
	}
	tl.recount(nets, []qdb.Attachment{atts[0], {UUID: "c", Host: "hv1", Status: StatusDown}})
	if c := tl.counts(); c.Attachments[StatusUp] != 1 || c.Attachments[StatusDown] != 1 || len(tl.attachments) != 2 || tl.attachments["b"] != (attachmentCount{}) {
		t.Fatalf("tally after a recount with one row replaced = %+v %+v", c, tl.attachments)
	}
	tl.recount([]qdb.Network{{UUID: "m"}}, atts)
	if c := tl.counts(); c.Networks != 1 || !tl.networks["m"] || c.Attachments[StatusUp] != 2 {
		t.Fatalf("counts after a recount with another network = %+v", c)
	}
}
