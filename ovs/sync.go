package ovs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

// cacheWait bounds how long Sync waits for its own transaction to show up
// in the cache before it reports states (reporting PROVISIONING if it has not).
const cacheWait = 5 * time.Second

// plan is what one Sync changes: all of it goes into one transaction.
type plan struct {
	ops      []ovsdb.Operation
	newIfs   []model.Model     // interfaces to insert
	newPorts []model.Model     // ports to insert
	addPorts []string          // named UUIDs of new ports, inserted into Bridge.ports
	delPorts []string          // UUIDs of owned ports no longer desired
	failed   map[string]string // attachment id -> reason it cannot be wired
	nets     *networksPlan     // the networks of the desired ports
	created  []string          // devices created, for the log
	updated  []string          // devices updated, for the log
	// reconfigure: the transaction changes columns ovs-vswitchd does not
	// watch (trunks, vlan_mode, protected: bridge.c omits their alerts), so
	// it must also bump next_cfg, as ovs-vsctl does, or the change is
	// stored but not applied.
	reconfigure bool
}

// Sync makes the owned ports of the integration bridge exactly desired, in
// one transaction, and reports each desired port's observed state.
func (d *Datapath) Sync(ctx context.Context, desired []agent.WiredPort) ([]agent.PortState, error) {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	if !d.Connected() {
		return nil, fmt.Errorf("sync %d ports: not connected to Open_vSwitch database %s", len(desired), d.cfg.OVSDB)
	}
	snap, err := d.snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("sync %d ports: %w", len(desired), err)
	}
	if snap.bridge == nil { // deleted by hand since Start: heal it first
		if err := d.ensureBridge(ctx); err != nil {
			return nil, fmt.Errorf("sync %d ports: %w", len(desired), err)
		}
		if snap, err = d.snapshot(ctx); err != nil {
			return nil, fmt.Errorf("sync %d ports: %w", len(desired), err)
		}
	}
	if err := snap.bridgeProblem(d.cfg.Bridge); err != nil {
		return nil, fmt.Errorf("sync %d ports: %w", len(desired), err)
	}
	p, err := d.plan(snap, desired)
	if err != nil {
		return nil, fmt.Errorf("sync %d ports: %w", len(desired), err)
	}
	if len(p.ops) > 0 {
		if _, err := d.transact(ctx, p.ops); err != nil {
			return nil, fmt.Errorf("sync %d ports on bridge %s: %w", len(desired), d.cfg.Bridge, err)
		}
		d.log.Info("synced ports", "created", len(p.created), "updated", len(p.updated), "deleted", len(p.delPorts))
		d.waitApplied(ctx, desired, p)
		if snap, err = d.snapshot(ctx); err != nil {
			return nil, fmt.Errorf("sync %d ports: %w", len(desired), err)
		}
	}
	return d.networkStates(snap, desired, p.nets, d.states(snap, desired, p.failed)), nil
}

// plan computes the operations that make the owned ports match desired.
func (d *Datapath) plan(snap *snapshot, desired []agent.WiredPort) (*plan, error) {
	// Segment checks and local VLANs: physnet.go, localvlan.go.
	nets := d.planNetworks(snap, desired)
	p := &plan{failed: map[string]string{}, nets: nets}
	wanted := make(map[string]string, len(desired)) // device -> attachment id
	for i, w := range desired {
		if other, dup := wanted[w.Device]; dup {
			p.failed[w.AttachmentID] = fmt.Sprintf("device %s is also wanted by attachment %s", w.Device, other)
			continue
		}
		if w.Device == "" || w.Device == d.cfg.Bridge {
			p.failed[w.AttachmentID] = fmt.Sprintf("device %q cannot be plugged into bridge %s", w.Device, d.cfg.Bridge)
			continue
		}
		if reason := nets.refuse(w); reason != "" {
			p.failed[w.AttachmentID] = reason
			continue
		}
		wanted[w.Device] = w.AttachmentID
		existing := snap.portByName[w.Device]
		switch {
		case existing == nil && snap.ifByName[w.Device] == nil:
			d.planCreate(p, i, w, nets.tag(w))
		case !snap.owned(existing, d.cfg.Host):
			p.failed[w.AttachmentID] = fmt.Sprintf("device %s is already on bridge port not owned by quantum-agent", w.Device)
		default:
			if err := d.planUpdate(p, snap, existing, w, nets.tag(w)); err != nil {
				return nil, err
			}
		}
	}
	kept := 0
	for u := range snap.onBridge {
		port := snap.portByUUID[u]
		if port == nil || !snap.owned(port, d.cfg.Host) || port.Name == d.cfg.Bridge ||
			port.ExternalIDs[physnetKey] != "" || port.ExternalIDs[tunnelPeerKey] != "" {
			continue // patch and tunnel ports are planPatches' and planTunnels' business
		}
		if _, keep := wanted[port.Name]; keep {
			continue
		}
		if d.otherDB(port) {
			kept++ // wired from another Quantum DB: not ours to collect
			continue
		}
		p.delPorts = append(p.delPorts, port.UUID)
	}
	d.otherDBPorts.Store(int64(kept))
	if err := d.planPatches(p, snap, nets); err != nil {
		return nil, err
	}
	if err := d.planTunnels(p, snap, nets); err != nil {
		return nil, err
	}
	if err := d.planLocalPort(p, snap); err != nil {
		return nil, err
	}
	if err := d.planBridgePorts(p, snap.bridge); err != nil {
		return nil, err
	}
	if p.reconfigure && snap.root != nil {
		ops, err := d.reconfigureOps(snap.root)
		if err != nil {
			return nil, err
		}
		p.ops = append(p.ops, ops...)
	}
	return p, nil
}

func (d *Datapath) planCreate(p *plan, i int, w agent.WiredPort, tag int) {
	iface := &vswitch.Interface{
		UUID:        fmt.Sprintf("iface%d", i),
		Name:        w.Device,
		ExternalIDs: d.ifaceExternalIDs(nil, w),
	}
	v := portVLAN(tag)
	port := &vswitch.Port{
		UUID:        fmt.Sprintf("port%d", i),
		Name:        w.Device,
		Interfaces:  []string{iface.UUID},
		Tag:         &v.tag,
		VLANMode:    &v.mode,
		Trunks:      v.trunks,
		Protected:   v.protected,
		ExternalIDs: d.portExternalIDs(nil, w),
	}
	p.newIfs = append(p.newIfs, iface)
	p.newPorts = append(p.newPorts, port)
	p.addPorts = append(p.addPorts, port.UUID)
	p.created = append(p.created, w.Device)
}

func (d *Datapath) planUpdate(p *plan, snap *snapshot, port *vswitch.Port, w agent.WiredPort, tag int) error {
	iface := snap.portInterface(port, w.Device)
	if iface == nil {
		p.failed[w.AttachmentID] = fmt.Sprintf("port %s has no interface %s", w.Device, w.Device)
		return nil
	}
	changed := false
	v := portVLAN(tag)
	ids := d.portExternalIDs(port.ExternalIDs, w)
	tagged := port.Tag != nil && *port.Tag == v.tag
	quietSame := port.VLANMode != nil && *port.VLANMode == v.mode && slices.Equal(port.Trunks, v.trunks) && port.Protected == v.protected
	if !tagged || !quietSame || !maps.Equal(ids, port.ExternalIDs) {
		row := &vswitch.Port{UUID: port.UUID, Tag: &v.tag, VLANMode: &v.mode, Trunks: v.trunks, Protected: v.protected, ExternalIDs: ids}
		ops, err := d.client.Where(row).Update(row, &row.Tag, &row.VLANMode, &row.Trunks, &row.Protected, &row.ExternalIDs)
		if err != nil {
			return fmt.Errorf("update port %s for attachment %s: %w", w.Device, w.AttachmentID, err)
		}
		p.ops = append(p.ops, ops...)
		p.reconfigure = p.reconfigure || !quietSame
		changed = true
	}
	if ids := d.ifaceExternalIDs(iface.ExternalIDs, w); !maps.Equal(ids, iface.ExternalIDs) {
		row := &vswitch.Interface{UUID: iface.UUID, ExternalIDs: ids}
		ops, err := d.client.Where(row).Update(row, &row.ExternalIDs)
		if err != nil {
			return fmt.Errorf("update interface %s for attachment %s: %w", w.Device, w.AttachmentID, err)
		}
		p.ops = append(p.ops, ops...)
		changed = true
	}
	if changed {
		p.updated = append(p.updated, w.Device)
	}
	return nil
}

// planBridgePorts adds the inserts and the Bridge.ports mutations; OVS garbage-collects the
// Port and Interface rows that deleted ports leave unreferenced.
func (d *Datapath) planBridgePorts(p *plan, br *vswitch.Bridge) error {
	for _, rows := range [][]model.Model{p.newIfs, p.newPorts} {
		if len(rows) == 0 {
			continue
		}
		ops, err := d.client.Create(rows...)
		if err != nil {
			return fmt.Errorf("create %d rows on bridge %s: %w", len(rows), d.cfg.Bridge, err)
		}
		p.ops = append(p.ops, ops...)
	}
	var muts []model.Mutation
	if len(p.delPorts) > 0 {
		muts = append(muts, model.Mutation{Field: &br.Ports, Mutator: ovsdb.MutateOperationDelete, Value: p.delPorts})
	}
	if len(p.addPorts) > 0 {
		muts = append(muts, model.Mutation{Field: &br.Ports, Mutator: ovsdb.MutateOperationInsert, Value: p.addPorts})
	}
	if len(muts) == 0 {
		return nil
	}
	ops, err := d.client.Where(br).Mutate(br, muts...)
	if err != nil {
		return fmt.Errorf("change ports of bridge %s: %w", d.cfg.Bridge, err)
	}
	p.ops = append(p.ops, ops...)
	return nil
}

// vlanConfig is a VM port's whole VLAN configuration.
type vlanConfig struct {
	tag       int
	mode      string
	trunks    []int
	protected bool
}

// portVLAN, for a VM port on tag (its network's local VLAN, or DeadVLAN:
// networksPlan.tag), is set in the transaction that creates the port, so it never
// exists untagged: an access port (OVS drops any tagged frame the VM sends,
// so it cannot hop VLANs) on its tag. A quarantined port also has trunks
// limited to the dead VLAN, so that even a hand-made switch to trunk mode
// carries nothing, and is protected: NORMAL switching treats VLAN 4095 like
// any other, so without it two quarantined ports would reach each other
// (measured); protected ports never forward to one another.
func portVLAN(tag int) vlanConfig {
	v := vlanConfig{tag: tag, mode: vswitch.PortVLANModeAccess}
	if v.tag == agent.DeadVLAN {
		v.trunks, v.protected = []int{agent.DeadVLAN}, true
	}
	return v
}

// portExternalIDs returns cur with the keys the datapath owns set for w;
// keys others put there are kept.
func (d *Datapath) portExternalIDs(cur map[string]string, w agent.WiredPort) map[string]string {
	ids := maps.Clone(cur)
	if ids == nil {
		ids = map[string]string{}
	}
	ids[ownerKey] = d.cfg.Host
	setOrDelete(ids, dbIDKey, d.cfg.QuantumDBID)
	setOrDelete(ids, portIDKey, w.PortID)
	setOrDelete(ids, networkKey, w.NetworkID)
	return ids
}

func (d *Datapath) ifaceExternalIDs(cur map[string]string, w agent.WiredPort) map[string]string {
	ids := maps.Clone(cur)
	if ids == nil {
		ids = map[string]string{}
	}
	ids[ownerKey] = d.cfg.Host
	ids[ifaceIDKey] = w.AttachmentID
	ids[ifaceStatKey] = "active"
	setOrDelete(ids, macKey, w.MAC)
	setOrDelete(ids, vmKey, w.VMID)
	return ids
}

func setOrDelete(m map[string]string, k, v string) {
	if v == "" {
		delete(m, k)
		return
	}
	m[k] = v
}

// transact sends ops as one transaction and returns every operation's
// error joined, so that callers can errors.Is/As them.
func (d *Datapath) transact(ctx context.Context, ops []ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	d.transactions.Add(1)
	res, err := d.conn.Transact(ctx, ops...)
	if err != nil {
		return nil, fmt.Errorf("transact on %s: %w", d.cfg.OVSDB, err)
	}
	opErrs, err := ovsdb.CheckOperationResults(res, ops)
	if err == nil {
		return res, nil
	}
	errs := []error{err}
	for _, e := range opErrs {
		if e != nil {
			errs = append(errs, e)
		}
	}
	return nil, errors.Join(errs...)
}

// waitApplied waits, boundedly, until the cache shows this Sync's ports
// created and deleted, so the next Sync diffs against its result.
func (d *Datapath) waitApplied(ctx context.Context, desired []agent.WiredPort, p *plan) {
	created := make(map[string]bool, len(p.created))
	for _, dev := range p.created {
		created[dev] = true
	}
	ctx, cancel := context.WithTimeout(ctx, cacheWait)
	defer cancel()
	err := d.waitCache(ctx, func(s *snapshot) bool {
		for dev := range created {
			if port := s.portByName[dev]; port == nil || !s.onBridge[port.UUID] {
				return false
			}
		}
		for _, u := range p.delPorts {
			if s.onBridge[u] {
				return false
			}
		}
		return true
	})
	if err != nil {
		d.log.Warn("own transaction not yet visible in the cache", "err", err)
	}
}

// waitCache polls the cache until cond holds or ctx ends.
func (d *Datapath) waitCache(ctx context.Context, cond func(*snapshot) bool) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		snap, err := d.snapshot(ctx)
		if err != nil {
			return err
		}
		if cond(snap) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for Open_vSwitch cache: %w", ctx.Err())
		case <-t.C:
		}
	}
}
