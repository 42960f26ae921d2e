package agent

import (
	"log/slog"
	"sync"
)

// Config is what the agent itself needs to know about its host.
type Config struct {
	// Host is this agent's name: attachments default to it, the reconciler
	// wires only its attachments, and the datapath marks what it owns with it.
	Host string
	// VLANRanges is --network-vlan-ranges: the pools networks get VLANs from.
	VLANRanges []VLANRange
	// PhysicalNetworks are further physical networks provider networks may
	// name (from --bridge-mappings / --interface-mappings).
	PhysicalNetworks []string
	// UnderlayMTU is --underlay-mtu: the IP MTU of the network between the
	// hosts, from which every network's MTU follows (GuestMTU). Every agent
	// of a cloud must have the same. Zero: DefaultUnderlayMTU.
	UnderlayMTU int
}

// Agent implements Service on top of the Store.
type Agent struct {
	store *Store
	cfg   Config
	log   *slog.Logger
	pool  vlanPool

	allocMu  sync.Mutex
	inFlight map[string]bool // segment keys being inserted by this agent now
}

var _ Service = (*Agent)(nil)

// New returns an agent serving from store.
func New(store *Store, cfg Config, log *slog.Logger) *Agent {
	return &Agent{store: store, cfg: cfg, log: log, pool: vlanPool{ranges: cfg.VLANRanges}, inFlight: map[string]bool{}}
}

// Store returns the agent's store (for the reconciler and status reports).
func (a *Agent) Store() *Store { return a.store }
