package api

import (
	"context"
	"fmt"
)

// extensionUpdated is the "updated" stamp every extension shows.
const extensionUpdated = "2026-11-23T00:00:00Z"

type linkView struct {
	Rel  string `json:"rel" xml:"rel,attr"`
	Href string `json:"href" xml:"href,attr"`
}

type extensionView struct {
	Name        string             `json:"name" xml:"name,attr"`
	Alias       string             `json:"alias" xml:"alias,attr"`
	Description string             `json:"description" xml:"description"`
	Namespace   string             `json:"namespace" xml:"namespace,attr"`
	Updated     string             `json:"updated" xml:"updated,attr"`
	Links       *xmlList[linkView] `json:"links" xml:"links"`
}

// extensions are the additions to the released API, the same on both
// versions (docs/wire-extensions.md).
func extensions() []extensionView {
	ext := func(alias, name, desc string) extensionView {
		return extensionView{Name: name, Alias: alias, Description: desc,
			Namespace: "http://docs.openstack.org/ext/" + alias + "/api/v1.0",
			Updated:   extensionUpdated, Links: listOf[linkView]("link", nil)}
	}
	return []extensionView{
		ext("provider", "Provider Network",
			"Network type (vlan, flat, vxlan, local), physical network and segmentation id on networks, and the MTU a guest on each may use."),
		ext("attachment-status", "Attachment Status",
			"Attachments report their status (PROVISIONING, UP, DOWN, FAILED) and the reason for it."),
		ext("vif-binding", "VIF Binding",
			"A plug may name the host device, MAC, VM and host; the attachment echoes them."),
		ext("attachments", "Attachments",
			"List the attachments of a network, and plug an attachment into a free or new port."),
		ext("wait", "Wait for Attachment",
			"GET .../attachment?wait=UP&timeout=30 blocks until the attachment has the status (or FAILED)."),
		ext("idempotency-key", "Idempotency Key",
			"An Idempotency-Key request header on a create or plug makes its retry answer the first outcome."),
	}
}

func (h *handler) listExtensions(ctx context.Context, r *request) (reply, error) {
	return reply{status: 200, doc: &document{key: "extensions", value: listOf("extension", extensions())}}, nil
}

func (h *handler) showExtension(ctx context.Context, r *request) (reply, error) {
	alias := r.PathValue("alias")
	for _, e := range extensions() {
		if e.Alias == alias {
			// The bare object in JSON; XML needs its root element anyway.
			return reply{status: 200, doc: &document{key: "extension", value: e, bare: true}}, nil
		}
	}
	return reply{}, errNoExtension(alias)
}

// errNoExtension becomes the 404 fault of an unknown alias.
type errNoExtension string

func (e errNoExtension) Error() string {
	return fmt.Sprintf("Extension %s could not be found", string(e))
}

type versionView struct {
	ID     string             `json:"id" xml:"id,attr"`
	Status string             `json:"status" xml:"status,attr"`
	Links  *xmlList[linkView] `json:"links" xml:"links"`
}

// versions is GET /: the released statuses (v1.1 was PROPOSED in Essex).
func (h *handler) versions(ctx context.Context, r *request) (reply, error) {
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	v := func(id, status string) versionView {
		return versionView{ID: id, Status: status,
			Links: listOf("link", []linkView{{Rel: "self", Href: "http://" + host + "/" + id}})}
	}
	vs := []versionView{v(v10, "CURRENT"), v(v11, "PROPOSED")}
	return reply{status: 200, doc: &document{key: "versions", value: listOf("version", vs)}}, nil
}
