package agenttest

import (
	"context"
	"sync"
	"testing"

	"github.com/quantum-agent/quantum-agent/agent"
)

// Datapath stands in for OVS in tests of the reconciler and the API: it
// records what it was asked to wire and reports the status a test sets
// (PROVISIONING, or Default, until told otherwise). The real datapaths have
// their own integration tests in network namespaces.
type Datapath struct {
	Default string // status of ports not set with SetStatus

	mu      sync.Mutex
	last    []agent.WiredPort
	status  map[string]string
	changes chan struct{}
}

var _ agent.Datapath = (*Datapath)(nil)

// NewDatapath returns a datapath reporting def for every port.
func NewDatapath(def string) *Datapath {
	return &Datapath{Default: def, status: map[string]string{}, changes: make(chan struct{}, 1)}
}

// SetStatus makes the datapath report status for the attachment from the
// next pass on, and asks for that pass.
func (d *Datapath) SetStatus(attID, status string) {
	d.mu.Lock()
	d.status[attID] = status
	d.mu.Unlock()
	select {
	case d.changes <- struct{}{}:
	default:
	}
}

// Wired returns the ports of the last Sync by attachment id.
func (d *Datapath) Wired() map[string]agent.WiredPort {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := make(map[string]agent.WiredPort, len(d.last))
	for _, p := range d.last {
		m[p.AttachmentID] = p
	}
	return m
}

func (d *Datapath) Start(context.Context) error { return nil }
func (d *Datapath) Changes() <-chan struct{}    { return d.changes }
func (d *Datapath) Ready() error                { return nil }
func (d *Datapath) Warnings() []string          { return nil }
func (d *Datapath) Close() error                { return nil }

func (d *Datapath) Sync(_ context.Context, desired []agent.WiredPort) ([]agent.PortState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = append(d.last[:0:0], desired...)
	out := make([]agent.PortState, 0, len(desired))
	for _, p := range desired {
		st := d.status[p.AttachmentID]
		if st == "" {
			st = d.Default
		}
		out = append(out, agent.PortState{AttachmentID: p.AttachmentID, Status: st})
	}
	return out, nil
}

// StartReconciler runs a reconciler of a on dp until the test ends.
func StartReconciler(t testing.TB, a *agent.Agent, dp agent.Datapath, host string) *agent.Reconciler {
	rec := agent.NewReconciler(a.Store(), dp, host, 0, nil, Logger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = rec.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return rec
}
