package api

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
)

func TestVersions(t *testing.T) {
	h := testHandler(t, newBackend(t))
	for _, f := range []format{formatJSON, formatXML} {
		t.Run(formatName(f), func(t *testing.T) {
			r := expect(t, do(t, h, "GET", "/", "", "Accept", f.contentType()), 200)
			eq(t, "Content-Type", r.header.Get("Content-Type"), f.contentType())
			eq(t, "versions", r.len("versions"), 2)
			eq(t, "v1.0 id", r.str("versions.0.id"), "v1.0")
			eq(t, "v1.0 status", r.str("versions.0.status"), "CURRENT")
			eq(t, "v1.1 id", r.str("versions.1.id"), "v1.1")
			eq(t, "v1.0 link", r.str("versions.0.links.0.href"), "http://example.com/v1.0")
			eq(t, "link rel", r.str("versions.1.links.0.rel"), "self")
		})
	}
}

func TestExtensions(t *testing.T) {
	h := testHandler(t, newBackend(t))
	wantAliases := []string{"provider", "attachment-status", "vif-binding", "attachments", "wait", "idempotency-key"}
	for _, ver := range []string{v10, v11} {
		for _, f := range []format{formatJSON, formatXML} {
			t.Run(ver+"/"+formatName(f), func(t *testing.T) {
				hdr := []string{"Accept", f.contentType()}
				r := expect(t, do(t, h, "GET", "/"+ver+"/extensions", "", hdr...), 200)
				eq(t, "count", r.len("extensions"), len(wantAliases))
				for i, alias := range wantAliases {
					p := "extensions." + string(rune('0'+i))
					eq(t, "alias", r.str(p+".alias"), alias)
					eq(t, "namespace", r.str(p+".namespace"), "http://docs.openstack.org/ext/"+alias+"/api/v1.0")
					eq(t, "updated", r.str(p+".updated"), "2026-11-23T00:00:00Z")
					eq(t, "links", r.len(p+".links"), 0)
					if r.str(p+".name") == "" || r.str(p+".description") == "" {
						t.Errorf("%s lacks name or description", alias)
					}
				}
				if f == formatXML {
					eq(t, "namespace", r.ns, "http://openstack.org/quantum/api/"+ver)
				}

				r = expect(t, do(t, h, "GET", "/"+ver+"/extensions/attachments", "", hdr...), 200)
				alias := r.str("alias") // JSON: the bare object
				if f == formatXML {
					alias = r.str("extension.alias")
				}
				eq(t, "show alias", alias, "attachments")

				r = expect(t, do(t, h, "GET", "/"+ver+"/extensions/routers", "", hdr...), 404)
				key := "notFound"
				if ver == v11 {
					key = "QuantumError"
				}
				if !strings.Contains(r.str(key+".detail"), "routers") {
					t.Errorf("unknown alias fault does not name it: %s", r.raw)
				}
			})
		}
	}
}

// TestWait: ?wait=UP blocks until the status is reached, and a timeout
// answers with the attachment as it is.
func TestWait(t *testing.T) {
	b := newBackend(t)
	setter, ok := b.(interface{ SetAttachmentStatus(id, status string) })
	if !ok {
		t.Skip("backend cannot set attachment status")
	}
	ctx := t.Context()
	n, _ := b.CreateNetwork(ctx, "t", agent.NetworkSpec{Name: "n"})
	p, _ := b.CreatePort(ctx, "t", n.ID, agent.PortActive)
	if err := b.Plug(ctx, "t", n.ID, p.ID, agent.AttachmentSpec{ID: "vif-w"}); err != nil {
		t.Fatal(err)
	}
	h := testHandler(t, b, WithTimeout(time.Second))
	path := "/v1.1/tenants/t/networks/" + n.ID + "/ports/" + p.ID + "/attachment"

	time.AfterFunc(50*time.Millisecond, func() { setter.SetAttachmentStatus("vif-w", agent.StatusUp) })
	start := time.Now()
	r := expect(t, do(t, h, "GET", path+"?wait=up&timeout=5", ""), 200)
	eq(t, "status after wait", r.str("attachment.status"), agent.StatusUp)
	if d := time.Since(start); d < 40*time.Millisecond { // it returned before the status changed
		t.Errorf("wait took %v", d)
	}

	r = expect(t, do(t, h, "GET", path+"?wait=DOWN&timeout=0", ""), 200)
	eq(t, "status after timeout", r.str("attachment.status"), agent.StatusUp)

	// Back to PROVISIONING (and seen so), then FAILED while a wait for UP
	// blocks: the failure ends it.
	setter.SetAttachmentStatus("vif-w", agent.StatusProvisioning)
	expect(t, do(t, h, "GET", path+"?wait=PROVISIONING&timeout=5", ""), 200)
	time.AfterFunc(50*time.Millisecond, func() { setter.SetAttachmentStatus("vif-w", agent.StatusFailed) })
	r = expect(t, do(t, h, "GET", path+"?wait=UP&timeout=5", ""), 200)
	eq(t, "FAILED ends a wait", r.str("attachment.status"), agent.StatusFailed)

	expect(t, do(t, h, "GET", path+"?wait=SOON", ""), 400)
	expect(t, do(t, h, "GET", path+"?wait=UP&timeout=-1", ""), 400)
	expect(t, do(t, h, "GET", "/v1.1/tenants/t/networks/"+n.ID+"/ports/nope/attachment?wait=UP", ""), 404)
}

// TestPanicLogged: a panic is a 500 fault and its value is in the log,
// not in the reply.
func TestPanicLogged(t *testing.T) {
	var logs bytes.Buffer
	h := NewHandler(panicBackend{newBackend(t)}, slog.New(slog.NewTextHandler(&logs, nil)))
	r := expect(t, do(t, h, "GET", "/v1.0/tenants/t/networks", ""), 500)
	if strings.Contains(r.raw, "boom") {
		t.Errorf("panic value leaked: %s", r.raw)
	}
	if !strings.Contains(logs.String(), "boom") || !strings.Contains(logs.String(), "panic") {
		t.Errorf("panic not logged: %s", logs.String())
	}
}
