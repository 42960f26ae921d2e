package agent

import "context"

// Counts is the state of the Quantum DB as this host sees it: for
// `quantumctl status`, systemd's STATUS= line and the state gauges. Each
// count is kept current from the cache (store_tally.go): none walks rows.
type Counts struct {
	Networks int
	// Ports by op-status (UP, DOWN, PROVISIONING): the ports of this host's
	// attachments. (The ports of the whole DB are no longer counted: the
	// agent does not hold them, and counting them would cost a walk of
	// every row.)
	Ports map[string]int
	// Attachments of this agent's host by status (UP, DOWN, PROVISIONING,
	// FAILED); those of other hosts are their agents' business.
	Attachments map[string]int
}

// Counts returns the counts of networks and of this host's attachments and
// their ports.
func (a *Agent) Counts(context.Context) (Counts, error) {
	return a.store.tally.counts(), nil
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
