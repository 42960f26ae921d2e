package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// GetAttachment returns what is plugged into a port, or nil (and no error)
// when the port is empty.
func (c *Client) GetAttachment(ctx context.Context, tenant, network, port string) (*Attachment, error) {
	return c.getAttachment(ctx, tenant, network, port, nil, 0)
}

// WaitAttachment asks the agent (wait extension) to hold the answer until the
// port's attachment reaches status (UP, or FAILED, which always ends the
// wait) or timeout passes, and returns the attachment as it then is: check
// its Status. The call's own deadline is stretched by timeout.
func (c *Client) WaitAttachment(ctx context.Context, tenant, network, port, status string, timeout time.Duration) (*Attachment, error) {
	secs := int((timeout + time.Second - 1) / time.Second) // round up: 0 would mean "do not wait"
	q := url.Values{"wait": {status}, "timeout": {strconv.Itoa(secs)}}
	return c.getAttachment(ctx, tenant, network, port, q, time.Duration(secs)*time.Second)
}

func (c *Client) getAttachment(ctx context.Context, tenant, network, port string, q url.Values, extra time.Duration) (*Attachment, error) {
	path, err := c.tenantPath(tenant, "networks", network, "ports", port, "attachment")
	if err != nil {
		return nil, err
	}
	var out struct {
		Attachment *Attachment `json:"attachment"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: path, query: q, out: &out, extra: extra}); err != nil {
		return nil, err
	}
	if out.Attachment == nil || out.Attachment.ID == "" {
		return nil, nil
	}
	if out.Attachment.PortID == "" {
		out.Attachment.PortID = port
	}
	return out.Attachment, nil
}

// Plug plugs an interface into a port. An id plugged anywhere already gives
// ErrAlreadyAttached; a port holding another id gives ErrPortInUse.
func (c *Client) Plug(ctx context.Context, tenant, network, port string, req PlugRequest) error {
	if req.ID == "" {
		return fmt.Errorf("plug into port %s: attachment id is required", port)
	}
	path, err := c.tenantPath(tenant, "networks", network, "ports", port, "attachment")
	if err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodPut, path: path, in: req.body(), keyed: true})
}

// Unplug empties a port; unplugging an empty port is not an error.
func (c *Client) Unplug(ctx context.Context, tenant, network, port string) error {
	path, err := c.tenantPath(tenant, "networks", network, "ports", port, "attachment")
	if err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: path})
}

// ListAttachments lists every attachment on a network with its port and
// status (attachments extension).
func (c *Client) ListAttachments(ctx context.Context, tenant, network string) ([]Attachment, error) {
	path, err := c.tenantPath(tenant, "networks", network, "attachments")
	if err != nil {
		return nil, err
	}
	var out struct {
		Attachments []Attachment `json:"attachments"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: path, out: &out}); err != nil {
		return nil, err
	}
	return out.Attachments, nil
}

// PlugIntoNetwork plugs an interface into a free port of the network, or a
// new ACTIVE one, and returns the port's id (attachments extension).
func (c *Client) PlugIntoNetwork(ctx context.Context, tenant, network string, req PlugRequest) (string, error) {
	if req.ID == "" {
		return "", fmt.Errorf("plug into network %s: attachment id is required", network)
	}
	path, err := c.tenantPath(tenant, "networks", network, "attachments")
	if err != nil {
		return "", err
	}
	var out struct {
		Port Port `json:"port"`
	}
	if err := c.do(ctx, call{method: http.MethodPost, path: path, in: req.body(), out: &out, keyed: true}); err != nil {
		return "", err
	}
	if out.Port.ID == "" {
		return "", fmt.Errorf("POST %s: response carries no port id", path)
	}
	return out.Port.ID, nil
}
