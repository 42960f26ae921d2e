package api

import (
	"context"
	"fmt"
	"strings"

	"github.com/quantum-agent/quantum-agent/agent"
)

// Nova 2012.1 creates ports with vm_id, nova_id, rxtx_factor, ...: ignored.
func portCreateSchema() schema {
	return schema{root: "port", fields: map[string]fieldType{"state": textField}}
}

// The released CLI's update-port sends the port's id and, at the top
// level, its network's: known so that ones contradicting the URL are
// refused.
func portUpdateSchema() schema {
	return schema{root: "port",
		fields: map[string]fieldType{"state": textField, "id": textField},
		top:    map[string]fieldType{"network_id": textField}}
}

// portState normalises an admin state: any case in, upper case stored.
func portState(s string) (string, error) {
	switch up := strings.ToUpper(s); up {
	case agent.PortActive, agent.PortDown:
		return up, nil
	}
	return "", &agent.Error{Kind: agent.KindStateInvalid,
		Detail: fmt.Sprintf("Port state %q is not ACTIVE or DOWN", s)}
}

func (h *handler) listPorts(detail bool) endpoint {
	return func(ctx context.Context, r *request) (reply, error) {
		filter, err := parsePortFilter(r.URL.Query())
		if err != nil {
			return reply{}, err
		}
		ports, err := h.svc.ListPorts(ctx, r.tenant(), r.netID())
		if err != nil {
			return reply{}, err
		}
		kept := ports[:0:0]
		for _, p := range ports {
			if filter.match(p) {
				kept = append(kept, p)
			}
		}
		doc := portRefs(kept)
		if detail {
			doc = portDetails(kept, r.info.version)
		}
		return reply{status: 200, doc: &doc}, nil
	}
}

func (h *handler) createPort(ctx context.Context, r *request) (reply, error) {
	f, err := h.decodeBody(ctx, r, portCreateSchema(), true)
	if err != nil {
		return reply{}, err
	}
	state := agent.PortDown
	if s, ok := f["state"]; ok {
		if state, err = portState(s); err != nil {
			return reply{}, err
		}
	}
	p, err := h.svc.CreatePort(ctx, r.tenant(), r.netID(), state)
	if err != nil {
		return reply{}, err
	}
	return reply{status: r.created(), doc: &document{key: "port", value: idView{ID: p.ID}}}, nil
}

func (h *handler) showPort(detail bool) endpoint {
	return func(ctx context.Context, r *request) (reply, error) {
		p, err := h.svc.GetPort(ctx, r.tenant(), r.netID(), r.portID())
		if err != nil {
			return reply{}, err
		}
		doc := document{key: "port", value: newPortView(p, r.info.version, detail)}
		return reply{status: 200, doc: &doc}, nil
	}
}

func (h *handler) setPortState(ctx context.Context, r *request) (reply, error) {
	f, err := h.decodeBody(ctx, r, portUpdateSchema(), false)
	if err != nil {
		return reply{}, err
	}
	s, ok := f["state"]
	if !ok {
		return reply{}, malformed("missing attribute %q of %q", "state", "port")
	}
	if err := sameAsURL(f, "id", "port", r.portID()); err != nil {
		return reply{}, err
	}
	if err := sameAsURL(f, "network_id", "", r.netID()); err != nil {
		return reply{}, err
	}
	state, err := portState(s)
	if err != nil {
		return reply{}, err
	}
	if err := h.svc.SetPortState(ctx, r.tenant(), r.netID(), r.portID(), state); err != nil {
		return reply{}, err
	}
	return noContent()
}

func (h *handler) deletePort(ctx context.Context, r *request) (reply, error) {
	if err := h.svc.DeletePort(ctx, r.tenant(), r.netID(), r.portID()); err != nil {
		return reply{}, err
	}
	return noContent()
}
