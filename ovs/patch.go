package ovs

// The patch-port plumbing of physical networks (their policy: physnet.go):
// the OVSDB rows of each mapped physical network's patch pair, created at
// Start, healed and re-trunked by Sync, removed when the mapping goes.

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

// physnetKey marks the patch ports (and their interfaces) of a physical
// network; Sync's port diff leaves ports carrying it to the code here.
const physnetKey = "quantum-physical-network"

// patchNames returns the names of the patch port pair to physBridge.
func patchNames(physBridge string) (intSide, physSide string) {
	return "int-" + physBridge, "phy-" + physBridge
}

// patchEnd is one end of a physical network's patch pair as it must be.
type patchEnd struct {
	physnet    string // the physical network, recorded under physnetKey
	name, peer string // this end's port and interface name, and the other end's
	// integration is the end on the integration bridge: a trunk of exactly
	// trunks (see patchRows); the physical end is a plain port.
	integration bool
	trunks      []int
}

// patchEnds returns both ends of the pair joining the integration bridge to
// physBridge for physical network pn, the integration end trunking trunks.
func patchEnds(pn, physBridge string, trunks []int) (intEnd, physEnd patchEnd) {
	intName, physName := patchNames(physBridge)
	intEnd = patchEnd{physnet: pn, name: intName, peer: physName, integration: true, trunks: trunks}
	physEnd = patchEnd{physnet: pn, name: physName, peer: intName}
	return intEnd, physEnd
}

// planPatches adds to p what makes every mapped physical network's patch
// pair exist with the trunks of pp, and removes our patch ports that no
// mapping wants any more.
func (d *Datapath) planPatches(p *plan, snap *snapshot, pp *physnetPlan) error {
	down := d.physnetDown(snap)
	before := len(p.ops)
	for i, pn := range slices.Sorted(maps.Keys(d.cfg.BridgeMappings)) {
		if _, bad := down[pn]; bad {
			continue
		}
		if err := d.planPatchPair(p, snap, i, pn, pp.trunks[pn]); err != nil {
			return err
		}
	}
	if len(p.ops) > before {
		p.reconfigure = true
	}
	return d.planStalePatches(p, snap)
}

// reconfigureOps bumps Open_vSwitch.next_cfg, as ovs-vsctl does. Measured
// here: ovs-vswitchd ignores a transaction that changes only Port.trunks
// or Port.vlan_mode (bridge.c registers them with ovsdb_idl_omit_alert) and
// keeps switching with the old VLAN set until something else makes it
// reconfigure: a narrowed trunk would keep leaking. The bump makes it
// reconfigure now.
func (d *Datapath) reconfigureOps(root *vswitch.OpenvSwitch) ([]ovsdb.Operation, error) {
	ops, err := d.client.Where(root).Mutate(root, model.Mutation{
		Field: &root.NextCfg, Mutator: ovsdb.MutateOperationAdd, Value: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("bump next_cfg: %w", err)
	}
	return ops, nil
}

// planPatchPair ensures the pair for physnet pn (the i-th by name).
func (d *Datapath) planPatchPair(p *plan, snap *snapshot, i int, pn string, trunks []int) error {
	brName := d.cfg.BridgeMappings[pn]
	intEnd, physEnd := patchEnds(pn, brName, trunks)
	if cur := snap.portByName[intEnd.name]; cur == nil {
		iface, port := d.patchRows(fmt.Sprintf("patch_int%d", i), intEnd)
		p.newIfs = append(p.newIfs, iface)
		p.newPorts = append(p.newPorts, port)
		p.addPorts = append(p.addPorts, port.UUID)
		p.created = append(p.created, intEnd.name)
	} else if err := d.planPatchUpdate(p, snap, cur, intEnd); err != nil {
		return err
	}
	phys := snap.bridgeByName[brName]
	if cur := snap.portByName[physEnd.name]; cur != nil {
		return d.planPatchUpdate(p, snap, cur, physEnd)
	}
	iface, port := d.patchRows(fmt.Sprintf("patch_phy%d", i), physEnd)
	var ops []ovsdb.Operation
	for _, m := range []model.Model{iface, port} {
		op, err := d.client.Create(m)
		if err != nil {
			return fmt.Errorf("create patch port %s on bridge %s: %w", physEnd.name, brName, err)
		}
		ops = append(ops, op...)
	}
	add, err := d.client.Where(phys).Mutate(phys, model.Mutation{
		Field: &phys.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{port.UUID},
	})
	if err != nil {
		return fmt.Errorf("add patch port %s to bridge %s: %w", physEnd.name, brName, err)
	}
	// Not in p.created: Sync waits for those on the integration bridge, and
	// this end lands in the same transaction as anything it waits for.
	p.ops = append(p.ops, append(ops, add...)...)
	return nil
}

// patchRows builds the rows of one end of a patch pair: the integration end
// is a trunk of exactly its trunks, never empty (OVS reads empty as every VLAN);
// the physical end is a plain port, so every VLAN the integration end lets
// through passes untouched.
func (d *Datapath) patchRows(uuidPrefix string, end patchEnd) (*vswitch.Interface, *vswitch.Port) {
	ids := map[string]string{ownerKey: d.cfg.Host, physnetKey: end.physnet}
	iface := &vswitch.Interface{
		UUID: uuidPrefix + "_if", Name: end.name, Type: "patch",
		Options: map[string]string{"peer": end.peer}, ExternalIDs: maps.Clone(ids),
	}
	port := &vswitch.Port{UUID: uuidPrefix + "_port", Name: end.name, Interfaces: []string{iface.UUID}, ExternalIDs: ids}
	if end.integration {
		mode := vswitch.PortVLANModeTrunk
		port.VLANMode, port.Trunks = &mode, slices.Clone(end.trunks)
	}
	return iface, port
}

// planPatchUpdate heals one existing end of a pair: its VLAN settings, and
// its interface's type and peer (someone may have changed them by hand).
func (d *Datapath) planPatchUpdate(p *plan, snap *snapshot, port *vswitch.Port, end patchEnd) error {
	_, want := d.patchRows("x", end)
	pn, peer := end.physnet, end.peer
	// OVSDB sets come back in any order.
	if !slices.Equal(slices.Sorted(slices.Values(port.Trunks)), want.Trunks) || !sameMode(port.VLANMode, want.VLANMode) || port.Tag != nil ||
		port.ExternalIDs[physnetKey] != pn {
		ids := maps.Clone(port.ExternalIDs)
		ids[physnetKey] = pn
		row := &vswitch.Port{UUID: port.UUID, VLANMode: want.VLANMode, Trunks: want.Trunks, ExternalIDs: ids}
		ops, err := d.client.Where(row).Update(row, &row.VLANMode, &row.Trunks, &row.Tag, &row.ExternalIDs)
		if err != nil {
			return fmt.Errorf("update patch port %s: %w", port.Name, err)
		}
		p.ops = append(p.ops, ops...)
		p.updated = append(p.updated, port.Name)
	}
	iface := snap.portInterface(port, port.Name)
	if iface == nil || (iface.Type == "patch" && iface.Options["peer"] == peer) {
		return nil
	}
	opts := maps.Clone(iface.Options)
	if opts == nil {
		opts = map[string]string{}
	}
	opts["peer"] = peer
	row := &vswitch.Interface{UUID: iface.UUID, Type: "patch", Options: opts}
	ops, err := d.client.Where(row).Update(row, &row.Type, &row.Options)
	if err != nil {
		return fmt.Errorf("update patch interface %s: %w", port.Name, err)
	}
	p.ops = append(p.ops, ops...)
	p.updated = append(p.updated, port.Name)
	return nil
}

func sameMode(a, b *string) bool {
	switch {
	case a == nil || b == nil:
		return a == b
	default:
		return *a == *b
	}
}

// planStalePatches removes our patch ports that no current mapping wants:
// a physical network dropped from --bridge-mappings must stop being bridged.
func (d *Datapath) planStalePatches(p *plan, snap *snapshot) error {
	wanted := map[string]bool{}
	for _, br := range d.cfg.BridgeMappings {
		intName, physName := patchNames(br)
		wanted[d.cfg.Bridge+"/"+intName], wanted[br+"/"+physName] = true, true
	}
	for _, brName := range slices.Sorted(maps.Keys(snap.bridgeByName)) {
		br := snap.bridgeByName[brName]
		var stale []string
		for _, u := range br.Ports {
			port := snap.portByUUID[u]
			if port == nil || port.ExternalIDs[ownerKey] != d.cfg.Host || port.ExternalIDs[physnetKey] == "" ||
				wanted[brName+"/"+port.Name] {
				continue
			}
			stale = append(stale, u)
		}
		switch {
		case len(stale) == 0:
		case brName == d.cfg.Bridge:
			p.delPorts = append(p.delPorts, stale...) // with the VM ports' mutation
		default:
			ops, err := d.client.Where(br).Mutate(br, model.Mutation{
				Field: &br.Ports, Mutator: ovsdb.MutateOperationDelete, Value: stale,
			})
			if err != nil {
				return fmt.Errorf("remove stale patch ports from bridge %s: %w", brName, err)
			}
			p.ops = append(p.ops, ops...)
		}
	}
	return nil
}

// ensurePatches creates, at Start, the patch pairs that are missing, in one
// transaction. Existing ones are left as they are (a restart must not touch
// traffic); Sync sets their trunks from the ports it is given.
func (d *Datapath) ensurePatches(snap *snapshot) (*plan, error) {
	p := &plan{failed: map[string]string{}}
	if len(d.cfg.BridgeMappings) == 0 {
		return p, nil
	}
	down := d.physnetDown(snap)
	trunks := d.idleTrunks(snap)
	for i, pn := range slices.Sorted(maps.Keys(d.cfg.BridgeMappings)) {
		if reason, bad := down[pn]; bad {
			d.log.Warn("physical network not connected", "physical_network", pn, "reason", reason)
			continue
		}
		intName, physName := patchNames(d.cfg.BridgeMappings[pn])
		if snap.portByName[intName] != nil && snap.portByName[physName] != nil {
			continue
		}
		cur := snap.portByName[intName]
		keep := trunks[pn]
		if cur != nil && len(cur.Trunks) > 0 {
			keep = cur.Trunks
		}
		if err := d.planPatchPair(p, snap, i, pn, keep); err != nil {
			return nil, err
		}
	}
	return p, d.planBridgePorts(p, snap.bridge)
}

// startPatches is Start's part: the missing patch pairs, in one transaction.
func (d *Datapath) startPatches(ctx context.Context) error {
	snap, err := d.snapshot(ctx)
	if err != nil {
		return err
	}
	p, err := d.ensurePatches(snap)
	if err != nil {
		return fmt.Errorf("plan patch ports: %w", err)
	}
	if len(p.ops) == 0 {
		return nil
	}
	if _, err := d.transact(ctx, p.ops); err != nil {
		return fmt.Errorf("create patch ports %v: %w", p.created, err)
	}
	d.log.Info("created patch ports to physical bridges", "physical_networks", len(d.cfg.BridgeMappings))
	down := d.physnetDown(snap)
	return d.waitCache(ctx, func(s *snapshot) bool {
		for pn, br := range d.cfg.BridgeMappings {
			intName, physName := patchNames(br)
			if _, bad := down[pn]; !bad && (s.portByName[intName] == nil || s.portByName[physName] == nil) {
				return false
			}
		}
		return true
	})
}
