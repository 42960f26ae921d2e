package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// Versions lists the API versions the agent serves (GET /).
func (c *Client) Versions(ctx context.Context) ([]Version, error) {
	var out struct {
		Versions []Version `json:"versions"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: "/", out: &out}); err != nil {
		return nil, err
	}
	return out.Versions, nil
}

// Extensions lists the extensions the agent offers on this client's version.
func (c *Client) Extensions(ctx context.Context) ([]Extension, error) {
	var out struct {
		Extensions []Extension `json:"extensions"`
	}
	path := "/" + string(c.version) + "/extensions"
	if err := c.do(ctx, call{method: http.MethodGet, path: path, out: &out}); err != nil {
		return nil, err
	}
	return out.Extensions, nil
}

// Extension describes one extension; an alias the agent does not know gives
// a fault matching ErrNotFound.
func (c *Client) Extension(ctx context.Context, alias string) (*Extension, error) {
	if alias == "" {
		return nil, errors.New("extension alias is required")
	}
	var out Extension
	path := "/" + string(c.version) + "/extensions/" + url.PathEscape(alias)
	if err := c.do(ctx, call{method: http.MethodGet, path: path, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}
