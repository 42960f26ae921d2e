package api

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
)

// The plug body: the released {"attachment":{"id":..}} plus the
// vif-binding extension's optional attributes.
func attachmentSchema() schema {
	return schema{root: "attachment", fields: map[string]fieldType{
		"id":     textField,
		"device": deviceField,
		"mac":    macField,
		"vm-id":  textField,
		"host":   textField,
	}}
}

func attachmentSpec(f fields) (agent.AttachmentSpec, error) {
	if f["id"] == "" {
		return agent.AttachmentSpec{}, malformed("missing attribute %q of %q", "id", "attachment")
	}
	return agent.AttachmentSpec{ID: f["id"], Device: f["device"], MAC: f["mac"],
		VMID: f["vm-id"], Host: f["host"]}, nil
}

// defaultWait is how long ?wait= blocks when no timeout is given.
const defaultWait = 30 * time.Second

func (h *handler) showAttachment(ctx context.Context, r *request) (reply, error) {
	var att *agent.Attachment
	var err error
	if q := r.URL.Query(); q.Has("wait") {
		att, err = h.waitAttachment(ctx, r, q.Get("wait"), q.Get("timeout"))
	} else {
		att, err = h.svc.GetAttachment(ctx, r.tenant(), r.netID(), r.portID())
	}
	if err != nil {
		return reply{}, err
	}
	return reply{status: 200, doc: &document{key: "attachment", value: newAttachmentView(att)}}, nil
}

// waitAttachment is the wait extension: block until the attachment has the
// wanted status (or FAILED, which no wait outlasts), or until the timeout,
// and then answer with the attachment as it is. A timeout is not an error:
// the client reads the status it got.
func (h *handler) waitAttachment(ctx context.Context, r *request, want, timeout string) (*agent.Attachment, error) {
	want = strings.ToUpper(want)
	switch want {
	case agent.StatusUp, agent.StatusDown, agent.StatusProvisioning, agent.StatusFailed:
	default:
		return nil, malformed("wait must be UP, DOWN, PROVISIONING or FAILED, not %q", want)
	}
	d := defaultWait
	if timeout != "" {
		n, err := strconv.ParseUint(timeout, 10, 64)
		if err != nil {
			return nil, malformed("timeout must be a number of seconds, not %q", timeout)
		}
		// Capped before converting: a huge n would overflow a Duration.
		d = time.Duration(min(n, uint64(h.cfg.maxWait/time.Second)+1)) * time.Second
	}
	d = min(d, h.cfg.maxWait)
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	att, err := h.svc.WaitAttachment(wctx, r.tenant(), r.netID(), r.portID(), want)
	if err == nil || wctx.Err() == nil || ctx.Err() != nil {
		return att, err
	}
	// The wait ran out, not the request: answer with the state now.
	return h.svc.GetAttachment(ctx, r.tenant(), r.netID(), r.portID())
}

func (h *handler) plug(ctx context.Context, r *request) (reply, error) {
	f, err := h.decodeBody(ctx, r, attachmentSchema(), false)
	if err != nil {
		return reply{}, err
	}
	spec, err := attachmentSpec(f)
	if err != nil {
		return reply{}, err
	}
	if err := h.svc.Plug(ctx, r.tenant(), r.netID(), r.portID(), spec); err != nil {
		return reply{}, err
	}
	return noContent()
}

func (h *handler) unplug(ctx context.Context, r *request) (reply, error) {
	if err := h.svc.Unplug(ctx, r.tenant(), r.netID(), r.portID()); err != nil {
		return reply{}, err
	}
	return noContent()
}

// listAttachments is the attachments extension's list (draft operation 13).
func (h *handler) listAttachments(ctx context.Context, r *request) (reply, error) {
	atts, err := h.svc.ListAttachments(ctx, r.tenant(), r.netID())
	if err != nil {
		return reply{}, err
	}
	doc := attachmentItems(atts)
	return reply{status: 200, doc: &doc}, nil
}

// plugIntoNetwork is the attachments extension's plug (draft operation
// 14): the agent picks or makes the port, and the reply says which.
func (h *handler) plugIntoNetwork(ctx context.Context, r *request) (reply, error) {
	f, err := h.decodeBody(ctx, r, attachmentSchema(), false)
	if err != nil {
		return reply{}, err
	}
	spec, err := attachmentSpec(f)
	if err != nil {
		return reply{}, err
	}
	p, err := h.svc.PlugIntoNetwork(ctx, r.tenant(), r.netID(), spec)
	if err != nil {
		return reply{}, err
	}
	if p.Attachment == nil {
		p.Attachment = &agent.Attachment{ID: spec.ID, PortID: p.ID, NetworkID: p.NetworkID}
	}
	doc := document{key: "port", value: newPortView(p, r.info.version, true)}
	return reply{status: r.created(), doc: &doc}, nil
}
