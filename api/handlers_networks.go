package api

import (
	"context"
	"strconv"

	"github.com/quantum-agent/quantum-agent/agent"
)

func networkCreateSchema() schema {
	return schema{root: "network", fields: map[string]fieldType{
		"name":             textField,
		"network-type":     textField, // provider extension
		"physical-network": textField,
		"segmentation-id":  intField,
	}}
}

// Only the name can change: the segment is fixed once allocated, so the
// provider attributes are unknown here (ignored, like any unknown key).
// The id is known so that one contradicting the URL is refused: the
// released CLI sends it.
func networkUpdateSchema() schema {
	return schema{root: "network", fields: map[string]fieldType{"name": textField, "id": textField}}
}

func (h *handler) listNetworks(detail bool) endpoint {
	return func(ctx context.Context, r *request) (reply, error) {
		filter, err := parseNetworkFilter(r.URL.Query())
		if err != nil {
			return reply{}, err
		}
		nets, err := h.svc.ListNetworks(ctx, r.tenant(), filter.needPorts)
		if err != nil {
			return reply{}, err
		}
		kept := nets[:0:0]
		for _, n := range nets {
			if filter.match(n) {
				kept = append(kept, n)
			}
		}
		doc := networkRefs(kept)
		if detail {
			doc = networkDetails(kept, r.info.version)
		}
		return reply{status: 200, doc: &doc}, nil
	}
}

func (h *handler) createNetwork(ctx context.Context, r *request) (reply, error) {
	f, err := h.decodeBody(ctx, r, networkCreateSchema(), false)
	if err != nil {
		return reply{}, err
	}
	spec, err := networkSpec(f)
	if err != nil {
		return reply{}, err
	}
	n, err := h.svc.CreateNetwork(ctx, r.tenant(), spec)
	if err != nil {
		return reply{}, err
	}
	return reply{status: r.created(), doc: &document{key: "network", value: idView{ID: n.ID}}}, nil
}

// networkSpec checks a create body: a name, and a provider segment that is
// either absent or names a known type.
func networkSpec(f fields) (agent.NetworkSpec, error) {
	if f["name"] == "" {
		return agent.NetworkSpec{}, malformed("missing attribute %q of %q", "name", "network")
	}
	spec := agent.NetworkSpec{Name: f["name"]}
	spec.Segment.Type = f["network-type"]
	spec.Segment.PhysicalNetwork = f["physical-network"]
	if s, ok := f["segmentation-id"]; ok {
		spec.Segment.SegmentationID, _ = strconv.Atoi(s) // checked by the decoder
	}
	switch spec.Segment.Type {
	case "", agent.NetworkTypeVLAN, agent.NetworkTypeFlat, agent.NetworkTypeVXLAN, agent.NetworkTypeLocal:
	default:
		return agent.NetworkSpec{}, malformed("network-type %q is not vlan, flat, vxlan or local", spec.Segment.Type)
	}
	return spec, nil
}

func (h *handler) showNetwork(detail bool) endpoint {
	return func(ctx context.Context, r *request) (reply, error) {
		n, err := h.svc.GetNetwork(ctx, r.tenant(), r.netID(), detail)
		if err != nil {
			return reply{}, err
		}
		doc := document{key: "network", value: newNetworkView(n, r.info.version, detail)}
		return reply{status: 200, doc: &doc}, nil
	}
}

func (h *handler) renameNetwork(ctx context.Context, r *request) (reply, error) {
	f, err := h.decodeBody(ctx, r, networkUpdateSchema(), false)
	if err != nil {
		return reply{}, err
	}
	if f["name"] == "" {
		return reply{}, malformed("missing attribute %q of %q", "name", "network")
	}
	if err := sameAsURL(f, "id", "network", r.netID()); err != nil {
		return reply{}, err
	}
	if err := h.svc.RenameNetwork(ctx, r.tenant(), r.netID(), f["name"]); err != nil {
		return reply{}, err
	}
	return noContent()
}

func (h *handler) deleteNetwork(ctx context.Context, r *request) (reply, error) {
	if err := h.svc.DeleteNetwork(ctx, r.tenant(), r.netID()); err != nil {
		return reply{}, err
	}
	return noContent()
}
