package client

import (
	"context"
	"net/http"
	"time"
)

// AgentStatus is the agent's operator status (GET /status, outside the
// versioned API): what runs, whether it is ready and why not, its database
// connections and how many objects are in which state.
type AgentStatus struct {
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	Datapath  string `json:"datapath"`
	Host      string `json:"host"`
	Ready     bool   `json:"ready"`
	// Reason says why the agent is not ready.
	Reason string `json:"reason,omitempty"`
	// Warnings need an operator but do not stop wiring.
	Warnings  []string         `json:"warnings,omitempty"`
	Started   time.Time        `json:"started"`
	LastPass  time.Time        `json:"last_reconcile_pass,omitzero"`
	Databases []DatabaseStatus `json:"databases"`
	Networks  int              `json:"networks"`
	// Ports by op-status; Attachments of the agent's host by status.
	Ports       map[string]int `json:"ports"`
	Attachments map[string]int `json:"attachments"`
	CountError  string         `json:"count_error,omitempty"`
}

// DatabaseStatus is one OVSDB connection of the agent ("quantum" or
// "open_vswitch").
type DatabaseStatus struct {
	Name      string   `json:"name"`
	Endpoints []string `json:"endpoints"`
	Connected bool     `json:"connected"`
}

// Status returns the agent's operator status.
func (c *Client) Status(ctx context.Context) (*AgentStatus, error) {
	var out AgentStatus
	if err := c.do(ctx, call{method: http.MethodGet, path: "/status", out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}
