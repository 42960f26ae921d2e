package client

import (
	"context"
	"fmt"
	"net/http"
)

// ListNetworks lists the tenant's networks, IDs only. filters are the API's
// list filters (name, op-status, port-state, has-attachment, ...), ANDed.
func (c *Client) ListNetworks(ctx context.Context, tenant string, filters map[string]string) ([]Network, error) {
	return c.listNetworks(ctx, tenant, filters, false)
}

// ListNetworksDetail lists the tenant's networks with their attributes.
func (c *Client) ListNetworksDetail(ctx context.Context, tenant string, filters map[string]string) ([]Network, error) {
	return c.listNetworks(ctx, tenant, filters, true)
}

func (c *Client) listNetworks(ctx context.Context, tenant string, filters map[string]string, detail bool) ([]Network, error) {
	parts := []string{"networks"}
	if detail {
		parts = append(parts, "detail")
	}
	path, err := c.tenantPath(tenant, parts...)
	if err != nil {
		return nil, err
	}
	var out struct {
		Networks []Network `json:"networks"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: path, query: filterQuery(filters), out: &out}); err != nil {
		return nil, err
	}
	for i := range out.Networks {
		out.Networks[i].normalize()
	}
	return out.Networks, nil
}

// GetNetwork returns the detail view of a network, ports included.
func (c *Client) GetNetwork(ctx context.Context, tenant, id string) (*Network, error) {
	path, err := c.tenantPath(tenant, "networks", id, "detail")
	if err != nil {
		return nil, err
	}
	var out struct {
		Network Network `json:"network"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: path, out: &out}); err != nil {
		return nil, err
	}
	out.Network.normalize()
	return &out.Network, nil
}

// CreateNetwork creates a network and returns its id.
func (c *Client) CreateNetwork(ctx context.Context, tenant string, req NetworkRequest) (string, error) {
	path, err := c.tenantPath(tenant, "networks")
	if err != nil {
		return "", err
	}
	in := networkBody{Network: networkFields(req)}
	var out struct {
		Network struct {
			ID string `json:"id"`
		} `json:"network"`
	}
	if err := c.do(ctx, call{method: http.MethodPost, path: path, in: in, out: &out, keyed: true}); err != nil {
		return "", err
	}
	if out.Network.ID == "" {
		return "", fmt.Errorf("POST %s: response carries no network id", path)
	}
	return out.Network.ID, nil
}

// UpdateNetwork renames a network.
func (c *Client) UpdateNetwork(ctx context.Context, tenant, id, name string) error {
	path, err := c.tenantPath(tenant, "networks", id)
	if err != nil {
		return err
	}
	in := networkBody{Network: networkFields{Name: name}}
	return c.do(ctx, call{method: http.MethodPut, path: path, in: in})
}

// DeleteNetwork deletes a network and its unattached ports; with anything
// still plugged it fails with ErrNetworkInUse.
func (c *Client) DeleteNetwork(ctx context.Context, tenant, id string) error {
	path, err := c.tenantPath(tenant, "networks", id)
	if err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: path})
}
