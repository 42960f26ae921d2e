package ovs

// Physical networks (--bridge-mappings physnet1:br-phys).
//
// Each mapped physical network is reached through a patch port pair between
// the integration bridge and the operator's physical bridge (the one holding
// the uplink NIC), named as Neutron's OVS agent names them: "int-<physbridge>"
// on the integration bridge and "phy-<physbridge>" on the physical bridge.
// Naming both ends after the physical bridge keeps them unique across the
// whole switch even with several physical bridges.
//
// VLAN handling. A vlan network's VM ports are tagged on the integration
// bridge with the network's segmentation id; the integration-side patch port
// is a trunk limited to the VLANs in use on its physical network, so frames
// leave tagged with the network's VLAN and cross the physical bridge (normal
// switching, its patch port a plain port) to the uplink unchanged. The list
// is explicit for three reasons: VLAN 4095, the tag of quarantined ports,
// must never leave the host; VLANs of another physical network on the same
// integration bridge must not leak onto this one; and untagged frames (VLAN 0
// in OVS terms) from the uplink must not enter the integration bridge. OVS
// reads an empty trunks column as "every VLAN", so a physical network with no
// VLAN in use gets a placeholder: one VLAN no port on the integration bridge
// uses, which therefore carries nothing.
//
// The datapath does not translate VLANs (Neutron's local VLANs): two physical
// networks using the same VLAN id would merge on the integration bridge. The
// later one is refused with a reason; "later" is whichever is not already
// wired, and among two unwired ones the one whose name sorts last.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

// physnetKey marks the patch ports (and their interfaces) of a physical
// network; Sync's port diff leaves ports carrying it to the code here.
const physnetKey = "quantum-physical-network"

// patchNames returns the names of the patch port pair to physBridge.
func patchNames(physBridge string) (intSide, physSide string) {
	return "int-" + physBridge, "phy-" + physBridge
}

// validateMappings checks --bridge-mappings against the integration bridge.
func validateMappings(mappings map[string]string, intBridge string) error {
	byBridge := map[string]string{}
	for _, pn := range slices.Sorted(maps.Keys(mappings)) {
		br := mappings[pn]
		switch {
		case pn == "" || br == "":
			return fmt.Errorf("ovs datapath: bridge mapping %q:%q: empty physical network or bridge", pn, br)
		case br == intBridge:
			return fmt.Errorf("ovs datapath: physical network %s is mapped to the integration bridge %s", pn, br)
		case byBridge[br] != "":
			return fmt.Errorf("ovs datapath: physical networks %s and %s are both mapped to bridge %s", byBridge[br], pn, br)
		}
		byBridge[br] = pn
	}
	return nil
}

// physnetPlan is what one Sync decides about physical networks.
type physnetPlan struct {
	refused map[string]string // attachment id -> why it cannot be wired
	trunks  map[string][]int  // mapped physnet -> VLANs its patch port trunks
}

// refuse returns why w cannot be wired, or "".
func (pp *physnetPlan) refuse(w agent.WiredPort) string { return pp.refused[w.AttachmentID] }

// planPhysnets checks each desired port's segment against the mappings and
// the other ports, and computes each mapped physical network's trunks.
func (d *Datapath) planPhysnets(snap *snapshot, desired []agent.WiredPort) *physnetPlan {
	pp := &physnetPlan{refused: map[string]string{}, trunks: map[string][]int{}}
	claims := map[int]map[string][]agent.WiredPort{} // VLAN -> physnet -> ports
	patches := map[string]string{}                   // patch port name -> physnet
	for pn, br := range d.cfg.BridgeMappings {
		intName, physName := patchNames(br)
		patches[intName], patches[physName] = pn, pn
	}
	for _, w := range desired {
		if pn, ok := patches[w.Device]; ok {
			pp.refused[w.AttachmentID] = fmt.Sprintf("device %s is the patch port of physical network %s", w.Device, pn)
			continue
		}
		if reason := d.segmentProblem(w.Segment); reason != "" {
			pp.refused[w.AttachmentID] = reason
			continue
		}
		vlan, pn := w.Segment.SegmentationID, w.Segment.PhysicalNetwork
		if claims[vlan] == nil {
			claims[vlan] = map[string][]agent.WiredPort{}
		}
		claims[vlan][pn] = append(claims[vlan][pn], w)
	}
	used := map[int]bool{} // every VLAN anything wants or has on the integration bridge
	for vlan, byPhysnet := range claims {
		used[vlan] = true
		holder := d.vlanHolder(snap, vlan, byPhysnet)
		for pn, ws := range byPhysnet {
			if pn != holder {
				for _, w := range ws {
					pp.refused[w.AttachmentID] = fmt.Sprintf("VLAN %d of physical network %s is already carried on "+
						"bridge %s for physical network %s; the ovs datapath does not translate VLANs, so both cannot share it",
						vlan, pn, d.cfg.Bridge, holder)
				}
				continue
			}
			if _, mapped := d.cfg.BridgeMappings[pn]; mapped {
				pp.trunks[pn] = append(pp.trunks[pn], vlan)
			}
		}
	}
	for u := range snap.onBridge {
		if port := snap.portByUUID[u]; port != nil && port.Tag != nil {
			used[*port.Tag] = true
		}
	}
	for _, pn := range slices.Sorted(maps.Keys(pp.trunks)) {
		slices.Sort(pp.trunks[pn])
	}
	d.placeholders(snap, pp, used)
	return pp
}

// segmentProblem says why the ovs datapath cannot carry seg on this host.
func (d *Datapath) segmentProblem(seg agent.Segment) string {
	switch seg.Type {
	case agent.NetworkTypeVLAN:
	case agent.NetworkTypeFlat:
		return "flat networks are not carried by the ovs datapath yet"
	default:
		return fmt.Sprintf("network type %q is not carried by the ovs datapath yet; use a vlan network", seg.Type)
	}
	if seg.SegmentationID < 1 || seg.SegmentationID > 4094 {
		return fmt.Sprintf("VLAN %d is not a usable VLAN id (1..4094)", seg.SegmentationID)
	}
	// Without any mapping the host runs standalone: VLANs stay on the
	// integration bridge (a single-host sandbox). With mappings, a
	// physical network this host cannot reach must not look wired.
	if len(d.cfg.BridgeMappings) > 0 {
		if _, ok := d.cfg.BridgeMappings[seg.PhysicalNetwork]; !ok {
			return fmt.Sprintf("physical network %q has no bridge mapping on host %s (--bridge-mappings)",
				seg.PhysicalNetwork, d.cfg.Host)
		}
	}
	return ""
}

// vlanHolder picks which physical network keeps vlan when several want it:
// the one whose port is already wired with that tag, so that traffic already
// flowing is never the one cut; else the first by name.
func (d *Datapath) vlanHolder(snap *snapshot, vlan int, byPhysnet map[string][]agent.WiredPort) string {
	names := slices.Sorted(maps.Keys(byPhysnet))
	for _, pn := range names {
		for _, w := range byPhysnet[pn] {
			port := snap.portByName[w.Device]
			if snap.owned(port, d.cfg.Host) && port.Tag != nil && *port.Tag == vlan &&
				port.ExternalIDs[networkKey] == w.NetworkID {
				return pn
			}
		}
	}
	return names[0]
}

// placeholders gives every mapped physical network with no VLAN in use one
// VLAN that nothing on the integration bridge uses (see the file comment),
// keeping its current one when still free so that an idle Sync writes nothing.
func (d *Datapath) placeholders(snap *snapshot, pp *physnetPlan, used map[int]bool) {
	for _, vlans := range pp.trunks {
		for _, v := range vlans {
			used[v] = true
		}
	}
	for _, pn := range slices.Sorted(maps.Keys(d.cfg.BridgeMappings)) {
		if len(pp.trunks[pn]) > 0 {
			continue
		}
		intName, _ := patchNames(d.cfg.BridgeMappings[pn])
		if cur := snap.portByName[intName]; cur != nil && len(cur.Trunks) == 1 && validVLAN(cur.Trunks[0]) && !used[cur.Trunks[0]] {
			pp.trunks[pn] = []int{cur.Trunks[0]}
			used[cur.Trunks[0]] = true
			continue
		}
		for v := 4094; v >= 1; v-- {
			if !used[v] {
				pp.trunks[pn] = []int{v}
				used[v] = true
				break
			}
		}
	}
}

func validVLAN(v int) bool { return v >= 1 && v <= 4094 }

// idleTrunks is what a patch port created at Start trunks, before any Sync
// knows the ports: a placeholder chosen as in placeholders.
func (d *Datapath) idleTrunks(snap *snapshot) map[string][]int {
	pp := &physnetPlan{trunks: map[string][]int{}}
	used := map[int]bool{}
	for _, port := range snap.portByName {
		if port.Tag != nil {
			used[*port.Tag] = true
		}
		for _, v := range port.Trunks {
			used[v] = true
		}
	}
	d.placeholders(snap, pp, used)
	return pp.trunks
}

// physnetDown says, per mapped physical network, why its ports cannot pass
// traffic beyond this host right now (the operator's part is missing or in
// the way), or nothing when they can.
func (d *Datapath) physnetDown(snap *snapshot) map[string]string {
	out := map[string]string{}
	for pn, br := range d.cfg.BridgeMappings {
		intName, physName := patchNames(br)
		phys := snap.bridgeByName[br]
		switch {
		case phys == nil:
			out[pn] = fmt.Sprintf("physical bridge %s for %s does not exist", br, pn)
		case snap.portByName[intName] != nil && !snap.owned(snap.portByName[intName], d.cfg.Host):
			out[pn] = fmt.Sprintf("port %s for %s exists but is not owned by quantum-agent", intName, pn)
		case snap.portByName[physName] != nil && !d.ownedOn(snap, phys, snap.portByName[physName]):
			out[pn] = fmt.Sprintf("port %s for %s exists but is not owned by quantum-agent on bridge %s", physName, pn, br)
		}
	}
	return out
}

// physnetProblem is Ready's view of physnetDown: every problem, sorted.
func (d *Datapath) physnetProblem(snap *snapshot) error {
	down := d.physnetDown(snap)
	var errs []error
	for _, pn := range slices.Sorted(maps.Keys(down)) {
		errs = append(errs, errors.New(down[pn]))
	}
	return errors.Join(errs...)
}

// ownedOn reports whether port is on bridge br and carries our marker.
func (d *Datapath) ownedOn(snap *snapshot, br *vswitch.Bridge, port *vswitch.Port) bool {
	return port != nil && br != nil && slices.Contains(br.Ports, port.UUID) && port.ExternalIDs[ownerKey] == d.cfg.Host
}

// physnetStates turns UP into DOWN for the ports of a physical network whose
// bridge is missing: they are wired, and pass traffic on this host, but
// reach nothing beyond it. DOWN rather than FAILED because the operator's
// fix (creating the bridge) is picked up without touching the attachment.
func (d *Datapath) physnetStates(snap *snapshot, desired []agent.WiredPort, states []agent.PortState) []agent.PortState {
	down := d.physnetDown(snap)
	if len(down) == 0 {
		return states
	}
	byID := make(map[string]agent.WiredPort, len(desired))
	for _, w := range desired {
		byID[w.AttachmentID] = w
	}
	for i, st := range states {
		if st.Status != agent.StatusUp {
			continue
		}
		if reason, ok := down[byID[st.AttachmentID].Segment.PhysicalNetwork]; ok {
			states[i].Status, states[i].Reason = agent.StatusDown, reason
		}
	}
	return states
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
	intName, physName := patchNames(brName)
	if cur := snap.portByName[intName]; cur == nil {
		iface, port := d.patchRows(fmt.Sprintf("patch_int%d", i), pn, intName, physName, true, trunks)
		p.newIfs = append(p.newIfs, iface)
		p.newPorts = append(p.newPorts, port)
		p.addPorts = append(p.addPorts, port.UUID)
		p.created = append(p.created, intName)
	} else if err := d.planPatchUpdate(p, snap, cur, pn, physName, true, trunks); err != nil {
		return err
	}
	phys := snap.bridgeByName[brName]
	if cur := snap.portByName[physName]; cur != nil {
		return d.planPatchUpdate(p, snap, cur, pn, intName, false, nil)
	}
	iface, port := d.patchRows(fmt.Sprintf("patch_phy%d", i), pn, physName, intName, false, nil)
	var ops []ovsdb.Operation
	for _, m := range []model.Model{iface, port} {
		op, err := d.client.Create(m)
		if err != nil {
			return fmt.Errorf("create patch port %s on bridge %s: %w", physName, brName, err)
		}
		ops = append(ops, op...)
	}
	add, err := d.client.Where(phys).Mutate(phys, model.Mutation{
		Field: &phys.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{port.UUID},
	})
	if err != nil {
		return fmt.Errorf("add patch port %s to bridge %s: %w", physName, brName, err)
	}
	// Not in p.created: Sync waits for those on the integration bridge, and
	// this end lands in the same transaction as anything it waits for.
	p.ops = append(p.ops, append(ops, add...)...)
	return nil
}

// patchRows builds one end of a patch pair: the integration end (trunk) is
// a trunk of exactly trunks, never empty (OVS reads empty as every VLAN);
// the physical end is a plain port, so every VLAN the integration end lets
// through passes untouched.
func (d *Datapath) patchRows(uuidPrefix, pn, name, peer string, trunk bool, trunks []int) (*vswitch.Interface, *vswitch.Port) {
	ids := map[string]string{ownerKey: d.cfg.Host, physnetKey: pn}
	iface := &vswitch.Interface{
		UUID: uuidPrefix + "_if", Name: name, Type: "patch",
		Options: map[string]string{"peer": peer}, ExternalIDs: maps.Clone(ids),
	}
	port := &vswitch.Port{UUID: uuidPrefix + "_port", Name: name, Interfaces: []string{iface.UUID}, ExternalIDs: ids}
	if trunk {
		mode := vswitch.PortVLANModeTrunk
		port.VLANMode, port.Trunks = &mode, slices.Clone(trunks)
	}
	return iface, port
}

// planPatchUpdate heals one existing end of a pair: its VLAN settings, and
// its interface's type and peer (someone may have changed them by hand).
func (d *Datapath) planPatchUpdate(p *plan, snap *snapshot, port *vswitch.Port, pn, peer string, trunk bool, trunks []int) error {
	_, want := d.patchRows("x", pn, port.Name, peer, trunk, trunks)
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
