package api

import (
	"encoding/json"
	"net/http"
	"time"
)

// StatusPath is the agent's operator status endpoint on the API socket.
// It lives outside /v1.x: it is not part of the Quantum API, and it is JSON
// only.
const StatusPath = "/status"

// Status is what `quantumctl status` shows. The daemon fills it (api knows
// nothing of databases or datapaths); the JSON names are the contract with
// api/client.AgentStatus.
type Status struct {
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	Datapath  string `json:"datapath"`
	Host      string `json:"host"`
	// Ready is true when the agent is synced and connected; Reason says
	// why not otherwise (the /readyz text).
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"`
	// Warnings are problems that do not stop wiring but need an
	// operator (e.g. a netdev bridge without userspace TSO).
	Warnings  []string         `json:"warnings,omitempty"`
	Started   time.Time        `json:"started"`
	LastPass  time.Time        `json:"last_reconcile_pass,omitzero"`
	Databases []DatabaseStatus `json:"databases"`
	Networks  int              `json:"networks"`
	// Ports (of this host's attachments) by op-status; Attachments (of
	// this host) by status.
	Ports       map[string]int `json:"ports"`
	Attachments map[string]int `json:"attachments"`
	// CountError is set when the counts could not be read.
	CountError string `json:"count_error,omitempty"`
}

// DatabaseStatus is one OVSDB connection of the agent.
type DatabaseStatus struct {
	Name      string   `json:"name"` // quantum or open_vswitch
	Endpoints []string `json:"endpoints"`
	Connected bool     `json:"connected"`
}

// serveStatus answers StatusPath with the daemon's Status (see WithStatus).
// It is JSON only and never cached; other methods get the 405 fault of any
// route (routes).
func serveStatus(w http.ResponseWriter, st Status) {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		http.Error(w, "encode status: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(b, '\n'))
}
