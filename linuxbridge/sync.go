package linuxbridge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/vishvananda/netlink"

	"github.com/quantum-agent/quantum-agent/agent"
)

// keep is what a Sync leaves in place: everything else the agent owns goes.
type keep struct {
	owned map[string]bool            // owned links (bridges, VXLAN and VLAN devices)
	on    map[string]map[string]bool // bridge -> devices that belong on it
}

// Sync makes the kernel hold exactly the desired ports among those the
// agent manages: a bridge per network with its uplink, the taps enslaved,
// and nothing else on the agent's bridges. It changes only what differs, so
// a restarted agent that finds everything right sends no request at all.
func (d *Datapath) Sync(ctx context.Context, desired []agent.WiredPort) ([]agent.PortState, error) {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	if d.closed.Load() {
		return nil, errors.New("linuxbridge datapath closed")
	}
	g := d.cfg.group(desired)
	snap, err := d.snapshot()
	if err != nil {
		return nil, fmt.Errorf("sync %d ports: %w", len(desired), err)
	}
	before := d.netlinkOp.Load()
	k := keep{owned: map[string]bool{}, on: map[string]map[string]bool{}}
	for _, n := range g.nets {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("sync %d ports: %w", len(desired), err)
		}
		d.applyNetwork(snap, n, g.failed, k)
	}
	if d.netlinkOp.Load() != before {
		if snap, err = d.snapshot(); err != nil {
			return nil, fmt.Errorf("sync %d ports: %w", len(desired), err)
		}
	}
	applied := d.netlinkOp.Load()
	d.cleanup(snap, k)
	if d.netlinkOp.Load() != applied {
		if snap, err = d.snapshot(); err != nil {
			return nil, fmt.Errorf("sync %d ports: %w", len(desired), err)
		}
	}
	if n := d.netlinkOp.Load() - before; n > 0 {
		d.log.Info("synced ports", "ports", len(desired), "networks", len(g.nets), "netlink_requests", n)
	}
	d.remember(snap, g, desired)
	return d.states(snap, g, desired), nil
}

// do counts a state-changing netlink request and passes its error on.
func (d *Datapath) do(err error) error {
	d.netlinkOp.Add(1)
	return err
}

// applyNetwork makes one network's bridge, uplink and ports right. What
// fails is recorded per attachment; nothing here stops other networks.
func (d *Datapath) applyNetwork(snap *snapshot, n *network, failed map[string]string, k keep) {
	k.owned[n.bridge] = true
	on := map[string]bool{}
	k.on[n.bridge] = on
	for _, w := range n.ports {
		on[w.Device] = true // never released while wanted, even if it fails now
	}
	if n.up.kind != uplinkNone {
		on[n.up.name] = true
		if n.up.kind != uplinkFlat {
			k.owned[n.up.name] = true
		}
	}
	failAll := func(err error) {
		for _, w := range n.ports {
			failed[w.AttachmentID] = err.Error()
		}
	}
	br, err := d.ensureBridge(snap, n, on)
	if err != nil {
		failAll(err)
		return
	}
	if err := d.ensureUplink(snap, n, br); err != nil {
		failAll(err)
		return
	}
	for _, w := range n.ports {
		if err := d.ensurePort(snap, n, br, w); err != nil {
			failed[w.AttachmentID] = err.Error()
		}
	}
}

// ensureBridge creates the network's bridge, or checks and adopts it; on
// holds the devices that belong on it.
func (d *Datapath) ensureBridge(snap *snapshot, n *network, on map[string]bool) (netlink.Link, error) {
	l := snap.byName[n.bridge]
	switch {
	case l == nil:
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.bridge, MTU: n.mtu}}
		created, err := d.createOwned(snap, br)
		if err != nil {
			return nil, fmt.Errorf("create bridge %s for network %s: %w", n.bridge, n.id, err)
		}
		// Set once more after creation: an MTU set this way is the
		// bridge's own, no longer derived from whatever ports join it.
		if err := d.do(d.h.LinkSetMTU(created, n.mtu)); err != nil {
			return nil, fmt.Errorf("set MTU %d on bridge %s: %w", n.mtu, n.bridge, err)
		}
		l = created
		d.log.Info("created bridge", "bridge", n.bridge, "network", n.id, "mtu", n.mtu)
	case !d.ownedBridge(l):
		return nil, foreign(l, d.cfg.Host)
	default:
		// Another Quantum DB's bridge still carrying ports this one does
		// not want is used as it is: re-marked, it would be this DB's to
		// collect, those ports with it.
		if !d.otherDB(l) || !hasOtherPorts(snap, l, on) {
			if err := d.adopt(snap, l); err != nil {
				return nil, err
			}
		}
		if l.Attrs().MTU != n.mtu {
			if err := d.do(d.h.LinkSetMTU(l, n.mtu)); err != nil {
				return nil, fmt.Errorf("set MTU %d on bridge %s: %w", n.mtu, n.bridge, err)
			}
		}
	}
	if !adminUp(l) {
		if err := d.do(d.h.LinkSetUp(l)); err != nil {
			return nil, fmt.Errorf("set bridge %s up: %w", n.bridge, err)
		}
	}
	return l, nil
}

// createOwned creates a link and marks it as the agent's. The kernel takes
// no alias at creation (only on a change), so the marker follows at once;
// an agent killed in between leaves an unmarked link that the next one
// reports as not its own rather than touching it.
func (d *Datapath) createOwned(snap *snapshot, l netlink.Link) (netlink.Link, error) {
	name := l.Attrs().Name
	if err := d.do(d.h.LinkAdd(l)); err != nil {
		return nil, err
	}
	created, err := d.h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("read %s just created: %w", name, err)
	}
	if err := d.do(d.h.LinkSetAlias(created, d.alias)); err != nil {
		return nil, fmt.Errorf("mark %s as quantum-agent's (alias %q): %w", name, d.alias, err)
	}
	created.Attrs().Alias = d.alias
	snap.put(created)
	return created, nil
}

// adopt marks an owned link as made from this agent's Quantum DB, if it is
// not marked so yet (made by an older agent, or from another Quantum DB
// that this one now wants it from).
func (d *Datapath) adopt(snap *snapshot, l netlink.Link) error {
	a := l.Attrs()
	if a.Alias == d.alias {
		return nil
	}
	if err := d.do(d.h.LinkSetAlias(l, d.alias)); err != nil {
		return fmt.Errorf("mark %s %s as this Quantum DB's (alias %q): %w", l.Type(), a.Name, d.alias, err)
	}
	d.log.Info("adopted link", "link", a.Name, "type", l.Type(), "old_alias", a.Alias, "alias", d.alias)
	a.Alias = d.alias
	snap.put(l)
	return nil
}

// hasOtherPorts reports whether bridge br has ports that are not on.
func hasOtherPorts(snap *snapshot, br netlink.Link, on map[string]bool) bool {
	for name, l := range snap.byName {
		if l.Attrs().MasterIndex == br.Attrs().Index && !on[name] {
			return true
		}
	}
	return false
}

// foreign says why a link in the way is left alone.
func foreign(l netlink.Link, host string) error {
	a := l.Attrs()
	return fmt.Errorf("%s %s exists and is not owned by quantum-agent on %s (alias %q): left alone", l.Type(), a.Name, host, a.Alias)
}

// ensurePort enslaves a tap to its network's bridge with the bridge's MTU,
// up when the port is ACTIVE and down when it is DOWN. A missing device is
// not an error: the VM may not have started yet; its creation is a link
// event that brings the next Sync.
func (d *Datapath) ensurePort(snap *snapshot, n *network, br netlink.Link, w agent.WiredPort) error {
	l := snap.byName[w.Device]
	if l == nil {
		return nil
	}
	a := l.Attrs()
	if isBridge(l) || d.owns(l) {
		return fmt.Errorf("device %s is a bridge or a link quantum-agent made; it cannot be plugged", w.Device)
	}
	if old, ok := d.indexes[w.Device]; ok && old != a.Index {
		d.log.Info("device re-created; wiring the new one", "device", w.Device, "old_ifindex", old, "ifindex", a.Index)
	}
	if a.MasterIndex != 0 && a.MasterIndex != br.Attrs().Index && !d.ownedBridge(snap.byIndex[a.MasterIndex]) {
		return fmt.Errorf("device %s is a port of %s, which quantum-agent does not own", w.Device, masterName(snap, a.MasterIndex))
	}
	// Admin DOWN holds the tap down (Neutron's linuxbridge agent does the
	// same): a down device passes nothing either way, whatever the bridge
	// does, and stays down across carrier changes. Down before enslaving,
	// so a DOWN port never forwards even for an instant.
	if !w.AdminUp && adminUp(l) {
		if err := d.do(d.h.LinkSetDown(l)); err != nil {
			return fmt.Errorf("set device %s down (port %s is DOWN): %w", w.Device, w.PortID, err)
		}
	}
	if a.MTU != n.mtu {
		if err := d.do(d.h.LinkSetMTU(l, n.mtu)); err != nil {
			return fmt.Errorf("set MTU %d on device %s (that of bridge %s): %w", n.mtu, w.Device, n.bridge, err)
		}
	}
	if a.MasterIndex != br.Attrs().Index {
		if err := d.do(d.h.LinkSetMasterByIndex(l, br.Attrs().Index)); err != nil {
			return fmt.Errorf("enslave device %s to bridge %s: %w", w.Device, n.bridge, err)
		}
	}
	if w.AdminUp && !adminUp(l) {
		if err := d.do(d.h.LinkSetUp(l)); err != nil {
			return fmt.Errorf("set device %s up: %w", w.Device, err)
		}
	}
	return nil
}

func masterName(snap *snapshot, index int) string {
	if m := snap.byIndex[index]; m != nil {
		return m.Type() + " " + m.Attrs().Name
	}
	return fmt.Sprintf("ifindex %d", index)
}

// cleanup releases what does not belong on the agent's bridges and deletes
// the owned links no network wants any more (deleting a bridge releases its
// ports). Taps are released, never deleted: they belong to the VM. Links of
// another Quantum DB, the ports on its bridges and the uplinks still on
// them are left in place and counted for Warnings.
func (d *Datapath) cleanup(snap *snapshot, k keep) {
	var links, ports int64
	defer func() {
		d.otherDBLinks.Store(links)
		d.otherDBTaps.Store(ports)
	}()
	for _, name := range slices.Sorted(maps.Keys(snap.byName)) {
		l := snap.byName[name]
		m := snap.byIndex[l.Attrs().MasterIndex]
		if d.owns(l) {
			if d.otherDB(l) {
				links++ // wanted or not: another DB's
				continue
			}
			if k.owned[name] {
				continue
			}
			if !isBridge(l) && d.ownedBridge(m) && d.otherDB(m) {
				links++ // an uplink still on another DB's bridge
				continue
			}
			if err := d.do(d.h.LinkDel(l)); err != nil {
				d.log.Warn("could not delete a link no network wants", "link", name, "err", err)
				continue
			}
			d.log.Info("deleted link no network wants", "link", name, "type", l.Type())
			continue
		}
		if !d.ownedBridge(m) || k.on[m.Attrs().Name][name] {
			continue
		}
		if d.otherDB(m) {
			ports++ // on another DB's bridge, not wanted by this one
			continue
		}
		if !k.owned[m.Attrs().Name] {
			continue // goes with its bridge
		}
		if err := d.do(d.h.LinkSetNoMaster(l)); err != nil {
			d.log.Warn("could not release a device from its bridge", "device", name, "bridge", m.Attrs().Name, "err", err)
			continue
		}
		d.log.Info("released device", "device", name, "bridge", m.Attrs().Name)
	}
}

// remember records, for the event filter and the re-creation log, what
// this Sync wired and wants.
func (d *Datapath) remember(snap *snapshot, g grouping, desired []agent.WiredPort) {
	w := watchSet{valid: true, names: map[string]bool{}, indexes: map[int]bool{}}
	for _, n := range g.nets {
		w.names[n.bridge] = true
		if n.up.name != "" {
			w.names[n.up.name] = true
		}
		if n.up.parent != "" {
			w.names[n.up.parent] = true
		}
	}
	indexes := map[string]int{}
	for _, p := range desired {
		w.names[p.Device] = true
		if l := snap.byName[p.Device]; l != nil {
			indexes[p.Device] = l.Attrs().Index
		}
	}
	for name := range w.names {
		if l := snap.byName[name]; l != nil {
			w.indexes[l.Attrs().Index] = true
		}
	}
	for _, l := range snap.byName {
		if d.owns(l) {
			w.indexes[l.Attrs().Index] = true
		}
	}
	d.indexes = indexes
	d.setWatched(w)
}
