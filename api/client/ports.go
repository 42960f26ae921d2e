package client

import (
	"context"
	"fmt"
	"net/http"
)

// ListPorts lists a network's ports, IDs only. filters: state, op-status,
// has-attachment, attachment.
func (c *Client) ListPorts(ctx context.Context, tenant, network string, filters map[string]string) ([]Port, error) {
	return c.listPorts(ctx, tenant, network, filters, false)
}

// ListPortsDetail lists a network's ports with state and attachment.
func (c *Client) ListPortsDetail(ctx context.Context, tenant, network string, filters map[string]string) ([]Port, error) {
	return c.listPorts(ctx, tenant, network, filters, true)
}

func (c *Client) listPorts(ctx context.Context, tenant, network string, filters map[string]string, detail bool) ([]Port, error) {
	parts := []string{"networks", network, "ports"}
	if detail {
		parts = append(parts, "detail")
	}
	path, err := c.tenantPath(tenant, parts...)
	if err != nil {
		return nil, err
	}
	var out struct {
		Ports []Port `json:"ports"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: path, query: filterQuery(filters), out: &out}); err != nil {
		return nil, err
	}
	for i := range out.Ports {
		out.Ports[i].normalize()
	}
	return out.Ports, nil
}

// GetPort returns the detail view of a port, attachment included.
func (c *Client) GetPort(ctx context.Context, tenant, network, port string) (*Port, error) {
	path, err := c.tenantPath(tenant, "networks", network, "ports", port, "detail")
	if err != nil {
		return nil, err
	}
	var out struct {
		Port Port `json:"port"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: path, out: &out}); err != nil {
		return nil, err
	}
	out.Port.normalize()
	return &out.Port, nil
}

// CreatePort creates a port and returns its id. An empty state sends no body,
// leaving the agent's default (DOWN).
func (c *Client) CreatePort(ctx context.Context, tenant, network, state string) (string, error) {
	path, err := c.tenantPath(tenant, "networks", network, "ports")
	if err != nil {
		return "", err
	}
	k := call{method: http.MethodPost, path: path, keyed: true}
	if state != "" {
		k.in = portBody{Port: portFields{State: state}}
	}
	var out struct {
		Port struct {
			ID string `json:"id"`
		} `json:"port"`
	}
	k.out = &out
	if err := c.do(ctx, k); err != nil {
		return "", err
	}
	if out.Port.ID == "" {
		return "", fmt.Errorf("POST %s: response carries no port id", path)
	}
	return out.Port.ID, nil
}

// UpdatePort sets a port's admin state (ACTIVE or DOWN).
func (c *Client) UpdatePort(ctx context.Context, tenant, network, port, state string) error {
	path, err := c.tenantPath(tenant, "networks", network, "ports", port)
	if err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodPut, path: path, in: portBody{Port: portFields{State: state}}})
}

// DeletePort deletes a port; with an attachment it fails with ErrPortInUse.
func (c *Client) DeletePort(ctx context.Context, tenant, network, port string) error {
	path, err := c.tenantPath(tenant, "networks", network, "ports", port)
	if err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: path})
}
