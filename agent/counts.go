package agent

import "context"

// Counts is the state of the Quantum DB as people count it: for `quantumctl
// status`, systemd's STATUS= line and the state gauges.
type Counts struct {
	Networks int
	// Ports by op-status (UP, DOWN, PROVISIONING), all hosts.
	Ports map[string]int
	// Attachments of this agent's host by status (UP, DOWN, PROVISIONING,
	// FAILED); those of other hosts are their agents' business.
	Attachments map[string]int
}

// Counts counts networks, ports and this host's attachments from the cache.
func (a *Agent) Counts(ctx context.Context) (Counts, error) {
	snap, err := a.store.snapshot(ctx)
	if err != nil {
		return Counts{}, err
	}
	c := Counts{Networks: len(snap.networks), Ports: map[string]int{}, Attachments: map[string]int{}}
	for _, s := range []string{StatusUp, StatusDown, StatusProvisioning} {
		c.Ports[s] = 0
	}
	for _, s := range []string{StatusUp, StatusDown, StatusProvisioning, StatusFailed} {
		c.Attachments[s] = 0
	}
	attByPort := indexAttachmentsByPort(snap.attachments)
	for _, p := range snap.ports {
		c.Ports[toPort(p, attByPort[p.UUID]).OpStatus]++
	}
	for _, at := range snap.attachments {
		if at.Host != a.cfg.Host {
			continue
		}
		st := at.Status
		if st == "" {
			st = StatusProvisioning
		}
		c.Attachments[st]++
	}
	return c, nil
}

// vlanUsage returns, per physical network with a pool, the pool's size and
// how many of its VLAN ids no network holds.
func (a *Agent) vlanUsage(ctx context.Context) (size, free map[string]int, err error) {
	nets, err := a.store.listNetworks(ctx)
	if err != nil {
		return nil, nil, err
	}
	size = a.pool.size()
	free = make(map[string]int, len(size))
	for p, n := range size {
		free[p] = n
	}
	for _, n := range nets {
		if n.NetworkType != NetworkTypeVLAN || !a.pool.contains(n.PhysicalNetwork, n.SegmentationID) {
			continue
		}
		free[n.PhysicalNetwork]--
	}
	return size, free, nil
}
