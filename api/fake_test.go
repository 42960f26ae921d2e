package api

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/quantum-agent/quantum-agent/agent"
)

// newBackend is the one place tests get a Backend from: an in-memory fake
// with the API.md semantics. Swapping it for the real agent store runs
// every test against that instead.
func newBackend(t *testing.T) Backend {
	t.Helper()
	return &fakeBackend{nets: map[string]*fakeNet{}}
}

// fakeBackend keeps networks in memory under one mutex.
type fakeBackend struct {
	mu    sync.Mutex
	seq   int
	order []string // network ids in creation order
	nets  map[string]*fakeNet
}

type fakeNet struct {
	net   agent.Network // Ports unused: see ports
	ports []*agent.Port
}

var _ Backend = (*fakeBackend)(nil)

func (b *fakeBackend) newID(kind string) string {
	b.seq++
	return fmt.Sprintf("%08x-0000-4000-8000-%012d", b.seq, len(kind))
}

func notFoundNet(id string) error {
	return &agent.Error{Kind: agent.KindNetworkNotFound, Detail: "Network " + id + " could not be found"}
}

func notFoundPort(netID, portID string) error {
	return &agent.Error{Kind: agent.KindPortNotFound,
		Detail: fmt.Sprintf("Port %s could not be found on network %s", portID, netID)}
}

// network finds a tenant's network; another tenant's is not found.
func (b *fakeBackend) network(tenant, id string) (*fakeNet, error) {
	n, ok := b.nets[id]
	if !ok || n.net.Tenant != tenant {
		return nil, notFoundNet(id)
	}
	return n, nil
}

func (b *fakeBackend) port(tenant, netID, portID string) (*fakeNet, *agent.Port, error) {
	n, err := b.network(tenant, netID)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range n.ports {
		if p.ID == portID {
			return n, p, nil
		}
	}
	return nil, nil, notFoundPort(netID, portID)
}

func copyPort(p *agent.Port) agent.Port {
	c := *p
	if p.Attachment != nil {
		a := *p.Attachment
		c.Attachment = &a
	}
	c.OpStatus = agent.PortOpStatus(c.State, c.Attachment)
	return c
}

func (n *fakeNet) view(withPorts bool) agent.Network {
	v := n.net
	v.Ports = nil
	if withPorts {
		v.Ports = []agent.Port{}
		for _, p := range n.ports {
			v.Ports = append(v.Ports, copyPort(p))
		}
	}
	return v
}

func (b *fakeBackend) ListNetworks(ctx context.Context, tenant string, withPorts bool) ([]agent.Network, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []agent.Network{}
	for _, id := range b.order {
		if n := b.nets[id]; n.net.Tenant == tenant {
			out = append(out, n.view(withPorts))
		}
	}
	return out, nil
}

func (b *fakeBackend) GetNetwork(ctx context.Context, tenant, netID string, withPorts bool) (agent.Network, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.network(tenant, netID)
	if err != nil {
		return agent.Network{}, err
	}
	return n.view(withPorts), nil
}

func (b *fakeBackend) CreateNetwork(ctx context.Context, tenant string, spec agent.NetworkSpec) (agent.Network, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	seg := spec.Segment
	if seg == (agent.Segment{}) {
		seg = agent.Segment{Type: agent.NetworkTypeVLAN, PhysicalNetwork: "physnet1", SegmentationID: 100 + len(b.order)}
	}
	id := b.newID("net")
	b.nets[id] = &fakeNet{net: agent.Network{ID: id, Tenant: tenant, Name: spec.Name, OpStatus: agent.StatusUp, Segment: seg}}
	b.order = append(b.order, id)
	return b.nets[id].view(false), nil
}

func (b *fakeBackend) RenameNetwork(ctx context.Context, tenant, netID, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.network(tenant, netID)
	if err != nil {
		return err
	}
	n.net.Name = name
	return nil
}

func (b *fakeBackend) DeleteNetwork(ctx context.Context, tenant, netID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.network(tenant, netID)
	if err != nil {
		return err
	}
	for _, p := range n.ports {
		if p.Attachment != nil {
			return &agent.Error{Kind: agent.KindNetworkInUse,
				Detail: fmt.Sprintf("Network %s has attachment %s plugged into port %s", netID, p.Attachment.ID, p.ID)}
		}
	}
	delete(b.nets, netID)
	b.order = slices.DeleteFunc(b.order, func(id string) bool { return id == netID })
	return nil
}

func (b *fakeBackend) ListPorts(ctx context.Context, tenant, netID string) ([]agent.Port, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.network(tenant, netID)
	if err != nil {
		return nil, err
	}
	return n.view(true).Ports, nil
}

func (b *fakeBackend) GetPort(ctx context.Context, tenant, netID, portID string) (agent.Port, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, p, err := b.port(tenant, netID, portID)
	if err != nil {
		return agent.Port{}, err
	}
	return copyPort(p), nil
}

func checkState(state string) error {
	if state != agent.PortActive && state != agent.PortDown {
		return &agent.Error{Kind: agent.KindStateInvalid, Detail: "Invalid state " + state}
	}
	return nil
}

func (b *fakeBackend) CreatePort(ctx context.Context, tenant, netID, state string) (agent.Port, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.createPort(tenant, netID, state)
}

func (b *fakeBackend) createPort(tenant, netID, state string) (agent.Port, error) {
	n, err := b.network(tenant, netID)
	if err != nil {
		return agent.Port{}, err
	}
	if err := checkState(state); err != nil {
		return agent.Port{}, err
	}
	p := &agent.Port{ID: b.newID("port"), NetworkID: netID, State: state}
	n.ports = append(n.ports, p)
	return copyPort(p), nil
}

func (b *fakeBackend) SetPortState(ctx context.Context, tenant, netID, portID, state string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, p, err := b.port(tenant, netID, portID)
	if err != nil {
		return err
	}
	if err := checkState(state); err != nil {
		return err
	}
	p.State = state
	return nil
}

func (b *fakeBackend) DeletePort(ctx context.Context, tenant, netID, portID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, p, err := b.port(tenant, netID, portID)
	if err != nil {
		return err
	}
	if p.Attachment != nil {
		return &agent.Error{Kind: agent.KindPortInUse,
			Detail: fmt.Sprintf("Port %s on network %s has attachment %s plugged", portID, netID, p.Attachment.ID)}
	}
	n.ports = slices.DeleteFunc(n.ports, func(q *agent.Port) bool { return q == p })
	return nil
}

func (b *fakeBackend) GetAttachment(ctx context.Context, tenant, netID, portID string) (*agent.Attachment, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, p, err := b.port(tenant, netID, portID)
	if err != nil || p.Attachment == nil {
		return nil, err
	}
	a := *p.Attachment
	return &a, nil
}

// pluggedAt finds an attachment id in the whole database (all tenants).
func (b *fakeBackend) pluggedAt(attID string) *agent.Port {
	for _, n := range b.nets {
		for _, p := range n.ports {
			if p.Attachment != nil && p.Attachment.ID == attID {
				return p
			}
		}
	}
	return nil
}

func (b *fakeBackend) Plug(ctx context.Context, tenant, netID, portID string, spec agent.AttachmentSpec) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, p, err := b.port(tenant, netID, portID)
	if err != nil {
		return err
	}
	return b.plug(p, spec)
}

// plug applies the plug order of API.md: the id plugged anywhere (this
// port included) first, then a port holding another id.
func (b *fakeBackend) plug(p *agent.Port, spec agent.AttachmentSpec) error {
	if at := b.pluggedAt(spec.ID); at != nil {
		return &agent.Error{Kind: agent.KindAlreadyAttached,
			Detail: fmt.Sprintf("The attachment %s is already plugged into port %s", spec.ID, at.ID)}
	}
	if p.Attachment != nil {
		return &agent.Error{Kind: agent.KindPortInUse,
			Detail: fmt.Sprintf("Port %s has attachment %s plugged", p.ID, p.Attachment.ID)}
	}
	host := spec.Host
	if host == "" {
		host = "hv-test"
	}
	p.Attachment = &agent.Attachment{ID: spec.ID, PortID: p.ID, NetworkID: p.NetworkID, Host: host,
		Device: spec.Device, MAC: spec.MAC, VMID: spec.VMID, Status: agent.StatusProvisioning}
	return nil
}

func (b *fakeBackend) Unplug(ctx context.Context, tenant, netID, portID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, p, err := b.port(tenant, netID, portID)
	if err != nil {
		return err
	}
	p.Attachment = nil
	return nil
}

func (b *fakeBackend) ListAttachments(ctx context.Context, tenant, netID string) ([]agent.Attachment, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.network(tenant, netID)
	if err != nil {
		return nil, err
	}
	out := []agent.Attachment{}
	for _, p := range n.ports {
		if p.Attachment != nil {
			out = append(out, *p.Attachment)
		}
	}
	return out, nil
}

func (b *fakeBackend) PlugIntoNetwork(ctx context.Context, tenant, netID string, spec agent.AttachmentSpec) (agent.Port, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.network(tenant, netID)
	if err != nil {
		return agent.Port{}, err
	}
	if at := b.pluggedAt(spec.ID); at != nil {
		return agent.Port{}, &agent.Error{Kind: agent.KindAlreadyAttached,
			Detail: fmt.Sprintf("The attachment %s is already plugged into port %s", spec.ID, at.ID)}
	}
	var free *agent.Port
	for _, p := range n.ports {
		if p.State == agent.PortActive && p.Attachment == nil {
			free = p
			break
		}
	}
	if free == nil {
		np, err := b.createPort(tenant, netID, agent.PortActive)
		if err != nil {
			return agent.Port{}, err
		}
		_, free, _ = b.port(tenant, netID, np.ID)
	}
	if err := b.plug(free, spec); err != nil {
		return agent.Port{}, err
	}
	return copyPort(free), nil
}

// SetAttachmentStatus stands in for the reconciler (used by the wait test).
func (b *fakeBackend) SetAttachmentStatus(attID, status string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.pluggedAt(attID); p != nil {
		p.Attachment.Status = status
	}
}
