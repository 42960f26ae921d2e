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
//
// The patch ports themselves (rows, healing, removal) are patch.go's.

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

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
