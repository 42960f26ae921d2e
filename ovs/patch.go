package ovs

// The patch pairs of vlan and flat networks (their policy: physnet.go): per
// network on a mapped physical network, one patch port on the integration
// bridge, an access port on the network's local VLAN, and its peer on the
// physical bridge, an access port on the provider VLAN (vlan) or a trunk of
// VLAN 0 alone (flat). Each end lets through exactly one VLAN, so nothing
// else crosses: not the dead VLAN 4095, not another network's VLAN, and for
// a flat network no tagged frame of the wire.
//
// This replaced one trunk pair per physical network (int-<bridge> and
// phy-<bridge>, as Neutron's OVS agent names it), which carried the
// segmentation ids untranslated; Sync removes such a pair in the same
// transaction that creates the per-network pairs (the upgrade of a running
// host: see docs/datapaths.md for the loss measured).

import (
	"fmt"
	"maps"
	"slices"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

// physnetKey marks the patch ports (and their interfaces) of a physical
// network; Sync's VM port diff leaves ports carrying it to the code here.
const physnetKey = "quantum-physical-network"

// netIDChars is how much of a network id a port name holds: 15 characters
// (IFNAMSIZ-1) less a 4-character prefix.
const netIDChars = 11

// patchNames returns the names of network netID's patch pair.
func patchNames(netID string) (intSide, physSide string) {
	short := netID[:min(len(netID), netIDChars)]
	return "qpi-" + short, "qpp-" + short
}

// legacyPatchNames returns the names of the per-physical-network trunk pair
// of earlier versions, which Sync removes.
func legacyPatchNames(physBridge string) (intSide, physSide string) {
	return "int-" + physBridge, "phy-" + physBridge
}

// patchEnd is one end of a network's patch pair as it must be.
type patchEnd struct {
	net, physnet string
	name, peer   string // this end's port and interface name, and the other end's
	tag          *int   // access on this VLAN; nil: a trunk of trunks
	trunks       []int
}

// patchEnds returns both ends of network n's pair.
func patchEnds(n *netPlan) (intEnd, physEnd patchEnd) {
	intName, physName := patchNames(n.id)
	vlan := n.vlan
	intEnd = patchEnd{net: n.id, physnet: n.seg.PhysicalNetwork, name: intName, peer: physName, tag: &vlan}
	physEnd = patchEnd{net: n.id, physnet: n.seg.PhysicalNetwork, name: physName, peer: intName, trunks: []int{0}}
	if seg := n.seg.SegmentationID; n.seg.Type != agent.NetworkTypeFlat {
		physEnd.tag, physEnd.trunks = &seg, nil
	}
	return intEnd, physEnd
}

// patchClashes finds mapped networks whose ids share the first netIDChars
// characters, hence their patch port names: the later by id is refused.
func patchClashes(d *Datapath, np *networksPlan) map[string]string {
	out := map[string]string{}
	seen := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(np.nets)) {
		if !np.nets[id].mapped(d) {
			continue
		}
		name, _ := patchNames(id)
		if other, dup := seen[name]; dup {
			out[id] = fmt.Sprintf("network %s would share patch port %s with network %s", id, name, other)
			continue
		}
		seen[name] = id
	}
	return out
}

// planPatches adds to p what makes every mapped network's patch pair exist
// as it must, and removes our patch ports no network wants any more.
func (d *Datapath) planPatches(p *plan, snap *snapshot, np *networksPlan) error {
	down := d.physnetDown(snap)
	wanted := map[string]bool{} // bridge/port
	before := len(p.ops)
	for i, id := range slices.Sorted(maps.Keys(np.nets)) {
		n := np.nets[id]
		if !n.mapped(d) || !validVLAN(n.vlan) || down[n.seg.PhysicalNetwork] != "" {
			continue
		}
		br := d.cfg.BridgeMappings[n.seg.PhysicalNetwork]
		intEnd, physEnd := patchEnds(n)
		wanted[d.cfg.Bridge+"/"+intEnd.name], wanted[br+"/"+physEnd.name] = true, true
		if err := d.planPatchEnd(p, snap, snap.bridge, fmt.Sprintf("patch_int%d", i), intEnd); err != nil {
			return err
		}
		if err := d.planPatchEnd(p, snap, snap.bridgeByName[br], fmt.Sprintf("patch_phy%d", i), physEnd); err != nil {
			return err
		}
	}
	if err := d.planStalePatches(p, snap, wanted); err != nil {
		return err
	}
	if len(p.ops) > before || len(p.delPorts) > 0 {
		p.reconfigure = true
	}
	return nil
}

// planPatchEnd creates or heals one end on bridge br. A port of that name
// someone else made is left alone (patchProblem reports it).
func (d *Datapath) planPatchEnd(p *plan, snap *snapshot, br *vswitch.Bridge, uuidPrefix string, end patchEnd) error {
	cur := snap.portByName[end.name]
	if cur != nil {
		if !d.ownedOn(br, cur) {
			return nil
		}
		return d.planPatchUpdate(p, snap, cur, end)
	}
	iface, port := d.patchRows(uuidPrefix, end)
	if br == snap.bridge {
		p.newIfs = append(p.newIfs, iface)
		p.newPorts = append(p.newPorts, port)
		p.addPorts = append(p.addPorts, port.UUID)
		p.created = append(p.created, end.name)
		return nil
	}
	var ops []ovsdb.Operation
	for _, m := range []model.Model{iface, port} {
		op, err := d.client.Create(m)
		if err != nil {
			return fmt.Errorf("create patch port %s on bridge %s: %w", end.name, br.Name, err)
		}
		ops = append(ops, op...)
	}
	add, err := d.client.Where(br).Mutate(br, model.Mutation{
		Field: &br.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{port.UUID},
	})
	if err != nil {
		return fmt.Errorf("add patch port %s to bridge %s: %w", end.name, br.Name, err)
	}
	// Not in p.created: Sync waits for those on the integration bridge, and
	// this end lands in the same transaction as anything it waits for.
	p.ops = append(p.ops, append(ops, add...)...)
	return nil
}

// reconfigureOps bumps Open_vSwitch.next_cfg, as ovs-vsctl does. Measured
// here: ovs-vswitchd ignores a transaction that changes only Port.trunks,
// Port.vlan_mode or Port.protected (bridge.c registers them with
// ovsdb_idl_omit_alert) and keeps switching with the old VLAN set until
// something else makes it reconfigure. The bump makes it reconfigure now.
func (d *Datapath) reconfigureOps(root *vswitch.OpenvSwitch) ([]ovsdb.Operation, error) {
	ops, err := d.client.Where(root).Mutate(root, model.Mutation{
		Field: &root.NextCfg, Mutator: ovsdb.MutateOperationAdd, Value: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("bump next_cfg: %w", err)
	}
	return ops, nil
}

// patchRows builds the rows of one end of a patch pair.
func (d *Datapath) patchRows(uuidPrefix string, end patchEnd) (*vswitch.Interface, *vswitch.Port) {
	ids := map[string]string{ownerKey: d.cfg.Host, physnetKey: end.physnet, networkKey: end.net}
	setOrDelete(ids, dbIDKey, d.cfg.QuantumDBID)
	iface := &vswitch.Interface{
		UUID: uuidPrefix + "_if", Name: end.name, Type: "patch",
		Options: map[string]string{"peer": end.peer}, ExternalIDs: maps.Clone(ids),
	}
	port := &vswitch.Port{UUID: uuidPrefix + "_port", Name: end.name, Interfaces: []string{iface.UUID}, ExternalIDs: ids}
	mode := vswitch.PortVLANModeTrunk
	if end.tag != nil {
		mode = vswitch.PortVLANModeAccess
		tag := *end.tag
		port.Tag = &tag
	}
	port.VLANMode, port.Trunks = &mode, slices.Clone(end.trunks)
	return iface, port
}

// planPatchUpdate heals one existing end of a pair: its VLAN settings, its
// marks, and its interface's type and peer (someone may have changed them).
func (d *Datapath) planPatchUpdate(p *plan, snap *snapshot, port *vswitch.Port, end patchEnd) error {
	_, want := d.patchRows("x", end)
	ids := maps.Clone(port.ExternalIDs)
	maps.Copy(ids, want.ExternalIDs)
	// OVSDB sets come back in any order.
	if !slices.Equal(slices.Sorted(slices.Values(port.Trunks)), want.Trunks) || !sameMode(port.VLANMode, want.VLANMode) ||
		!sameInt(port.Tag, want.Tag) || !maps.Equal(ids, port.ExternalIDs) {
		row := &vswitch.Port{UUID: port.UUID, Tag: want.Tag, VLANMode: want.VLANMode, Trunks: want.Trunks, ExternalIDs: ids}
		ops, err := d.client.Where(row).Update(row, &row.VLANMode, &row.Trunks, &row.Tag, &row.ExternalIDs)
		if err != nil {
			return fmt.Errorf("update patch port %s: %w", port.Name, err)
		}
		p.ops = append(p.ops, ops...)
		p.updated = append(p.updated, port.Name)
	}
	iface := snap.portInterface(port, port.Name)
	if iface == nil || (iface.Type == "patch" && iface.Options["peer"] == end.peer) {
		return nil
	}
	opts := maps.Clone(iface.Options)
	if opts == nil {
		opts = map[string]string{}
	}
	opts["peer"] = end.peer
	return d.planInterfaceType(p, port.Name, iface, "patch", opts)
}

// planInterfaceType sets an owned port's interface to type typ with
// options opts (patch ends and tunnels: both are typed interfaces whose
// options say where they lead).
func (d *Datapath) planInterfaceType(p *plan, portName string, iface *vswitch.Interface, typ string, opts map[string]string) error {
	row := &vswitch.Interface{UUID: iface.UUID, Type: typ, Options: opts}
	ops, err := d.client.Where(row).Update(row, &row.Type, &row.Options)
	if err != nil {
		return fmt.Errorf("update %s interface %s: %w", typ, portName, err)
	}
	p.ops = append(p.ops, ops...)
	p.updated = append(p.updated, portName)
	return nil
}

func sameMode(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameInt(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// planStalePatches removes our patch ports that are not wanted: those of a
// network gone from this host or from a dropped mapping, and the legacy
// per-physical-network trunk pairs. Ports wired from another Quantum DB
// are left alone.
func (d *Datapath) planStalePatches(p *plan, snap *snapshot, wanted map[string]bool) error {
	for _, brName := range slices.Sorted(maps.Keys(snap.bridgeByName)) {
		br := snap.bridgeByName[brName]
		var stale []string
		for _, u := range br.Ports {
			port := snap.portByUUID[u]
			if port == nil || port.ExternalIDs[ownerKey] != d.cfg.Host || port.ExternalIDs[physnetKey] == "" ||
				wanted[brName+"/"+port.Name] || d.otherDB(port) {
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

// patchProblem says why mapped network n's patch pair is not in place: the
// status and reason of its attachments, or "" when it is.
func (d *Datapath) patchProblem(snap *snapshot, n *netPlan) (status, reason string) {
	intName, physName := patchNames(n.id)
	br := d.cfg.BridgeMappings[n.seg.PhysicalNetwork]
	for _, c := range []struct{ name, bridge string }{{intName, d.cfg.Bridge}, {physName, br}} {
		port := snap.portByName[c.name]
		switch {
		case port == nil:
			return agent.StatusProvisioning, fmt.Sprintf("patch port %s of network %s to bridge %s is being created", c.name, n.id, br)
		case !d.ownedOn(snap.bridgeByName[c.bridge], port):
			return agent.StatusDown, fmt.Sprintf("port %s for network %s exists but is not owned by quantum-agent on bridge %s", c.name, n.id, c.bridge)
		}
	}
	return "", ""
}
