package ovs

// Network segments on the integration bridge.
//
// Every network a host carries gets a local VLAN on the integration bridge
// (localvlan.go), as Neutron's OVS agent does: the tag of its VM ports. How
// the network leaves the host depends on its type:
//
//   - vlan and flat: a patch pair per network (patch.go) between the
//     integration bridge and the operator's physical bridge of the mapped
//     physical network (--bridge-mappings physnet1:br-phys). The integration
//     end is an access port on the local VLAN, the physical end an access
//     port on the provider VLAN (vlan), or a trunk of VLAN 0 alone (flat: the
//     untagged frames of the wire, and none of its tagged ones). The patch
//     pair translates: VLAN 101 of physnet1 and VLAN 101 of physnet2 get two
//     local VLANs and never meet.
//   - vxlan: one tunnel port per (network, peer host) on the integration
//     bridge (tunnel.go), on the local VLAN.
//   - local: the local VLAN alone.
//
// A host without any bridge mapping runs standalone: its vlan and flat
// networks stay on the integration bridge, as local ones do (a single-host
// sandbox). With mappings, a physical network this host cannot reach must
// not look wired.

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

// maxVNI is the largest VXLAN network identifier (24 bits).
const maxVNI = 1<<24 - 1

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

// netPlan is one network this host carries, as one Sync sees it.
type netPlan struct {
	id    string
	seg   agent.Segment
	vlan  int      // local VLAN on the integration bridge (0: none could be given)
	peers []string // vxlan: the other hosts' VTEPs, sorted
}

// mapped reports whether the network leaves the host through a patch pair.
func (n *netPlan) mapped(d *Datapath) bool {
	if n.seg.Type != agent.NetworkTypeVLAN && n.seg.Type != agent.NetworkTypeFlat {
		return false
	}
	_, ok := d.cfg.BridgeMappings[n.seg.PhysicalNetwork]
	return ok
}

// networksPlan is what one Sync decides about the networks of its ports.
type networksPlan struct {
	refused map[string]string   // attachment id -> why it cannot be wired
	nets    map[string]*netPlan // network id -> its plan
}

// refuse returns why w cannot be wired, or "".
func (np *networksPlan) refuse(w agent.WiredPort) string { return np.refused[w.AttachmentID] }

// tag is the tag of w's VM port: its network's local VLAN, or the dead
// VLAN while admin down.
func (np *networksPlan) tag(w agent.WiredPort) int {
	n := np.nets[w.NetworkID]
	if !w.AdminUp || n == nil || !validVLAN(n.vlan) {
		return agent.DeadVLAN
	}
	return n.vlan
}

// planNetworks checks each desired port's segment, gathers the networks and
// gives each its local VLAN.
func (d *Datapath) planNetworks(snap *snapshot, desired []agent.WiredPort) *networksPlan {
	np := &networksPlan{refused: map[string]string{}, nets: map[string]*netPlan{}}
	for _, w := range desired {
		if reason := d.segmentProblem(w.Segment); reason != "" {
			np.refused[w.AttachmentID] = reason
			continue
		}
		n := np.nets[w.NetworkID]
		if n == nil {
			n = &netPlan{id: w.NetworkID, seg: w.Segment}
			np.nets[w.NetworkID] = n
		}
		if w.Segment != n.seg {
			np.refused[w.AttachmentID] = fmt.Sprintf("network %s has segment %+v on another port of this host", w.NetworkID, n.seg)
			continue
		}
		if w.Segment.Type == agent.NetworkTypeVXLAN {
			n.peers = append(n.peers, w.Peers...)
		}
	}
	own := ""
	if d.cfg.VXLANLocalIP.IsValid() {
		own = d.cfg.VXLANLocalIP.String()
	}
	for _, n := range np.nets {
		slices.Sort(n.peers)
		n.peers = slices.DeleteFunc(slices.Compact(n.peers), func(p string) bool { return p == own || p == "" })
	}
	bad := patchClashes(d, np)
	for id := range bad {
		delete(np.nets, id)
	}
	d.allocateVLANs(snap, np.nets)
	for id, n := range np.nets {
		if n.vlan == 0 {
			bad[id] = fmt.Sprintf("no local VLAN left on bridge %s for network %s (4094 in use)", d.cfg.Bridge, id)
			delete(np.nets, id)
		}
	}
	infra := d.infraNames(np)
	for _, w := range desired {
		if _, refused := np.refused[w.AttachmentID]; refused {
			continue
		}
		if reason, ok := bad[w.NetworkID]; ok {
			np.refused[w.AttachmentID] = reason
		} else if what, ok := infra[w.Device]; ok {
			np.refused[w.AttachmentID] = fmt.Sprintf("device %s is the %s", w.Device, what)
		}
	}
	return np
}

// infraNames names the ports the datapath itself makes (patch and tunnel
// ports), wanted now or by any mapping: no VM device may take those names.
func (d *Datapath) infraNames(np *networksPlan) map[string]string {
	out := map[string]string{}
	for pn, br := range d.cfg.BridgeMappings {
		intName, physName := legacyPatchNames(br)
		out[intName], out[physName] = "patch port of physical network "+pn, "patch port of physical network "+pn
	}
	for _, n := range np.nets {
		if n.mapped(d) {
			intName, physName := patchNames(n.id)
			out[intName], out[physName] = "patch port of network "+n.id, "patch port of network "+n.id
		}
		for _, peer := range n.peers {
			if name, ok := tunnelName(n.seg.SegmentationID, peer); ok {
				out[name] = "tunnel port of network " + n.id + " to " + peer
			}
		}
	}
	return out
}

// segmentProblem says why the ovs datapath cannot carry seg on this host.
func (d *Datapath) segmentProblem(seg agent.Segment) string {
	switch seg.Type {
	case agent.NetworkTypeVLAN:
		if !validVLAN(seg.SegmentationID) {
			return fmt.Sprintf("VLAN %d is not a usable VLAN id (1..4094)", seg.SegmentationID)
		}
	case agent.NetworkTypeFlat:
	case agent.NetworkTypeLocal:
		return ""
	case agent.NetworkTypeVXLAN:
		switch {
		case seg.SegmentationID < 1 || seg.SegmentationID > maxVNI:
			return fmt.Sprintf("VNI %d is not a usable VXLAN network identifier (1..%d)", seg.SegmentationID, maxVNI)
		case !d.cfg.VXLANLocalIP.IsValid():
			return fmt.Sprintf("host %s has no VXLAN tunnel endpoint (--vxlan-local-ip)", d.cfg.Host)
		}
		return ""
	default:
		return fmt.Sprintf("network type %q is not carried by the ovs datapath", seg.Type)
	}
	if len(d.cfg.BridgeMappings) > 0 {
		if _, ok := d.cfg.BridgeMappings[seg.PhysicalNetwork]; !ok {
			return fmt.Sprintf("physical network %q has no bridge mapping on host %s (--bridge-mappings)",
				seg.PhysicalNetwork, d.cfg.Host)
		}
	}
	return ""
}

func validVLAN(v int) bool { return v >= 1 && v <= 4094 }

// physnetDown says, per mapped physical network, why its ports cannot pass
// traffic beyond this host right now (the operator's bridge is missing), or
// nothing when they can.
func (d *Datapath) physnetDown(snap *snapshot) map[string]string {
	out := map[string]string{}
	for pn, br := range d.cfg.BridgeMappings {
		if snap.bridgeByName[br] == nil {
			out[pn] = fmt.Sprintf("physical bridge %s for %s does not exist", br, pn)
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
func (d *Datapath) ownedOn(br *vswitch.Bridge, port *vswitch.Port) bool {
	return port != nil && br != nil && slices.Contains(br.Ports, port.UUID) && port.ExternalIDs[ownerKey] == d.cfg.Host
}

// networkStates turns UP into DOWN for the ports of a network that is wired
// on this host but reaches nothing beyond it: its physical bridge is
// missing, its patch port is someone else's, or one of its tunnels has no
// route to its peer (PROVISIONING while those ports are still being made).
// DOWN rather than FAILED because the operator's fix is picked up without
// touching the attachment.
func (d *Datapath) networkStates(snap *snapshot, desired []agent.WiredPort, np *networksPlan, states []agent.PortState) []agent.PortState {
	down := d.physnetDown(snap)
	byID := make(map[string]agent.WiredPort, len(desired))
	for _, w := range desired {
		byID[w.AttachmentID] = w
	}
	for i, st := range states {
		if st.Status != agent.StatusUp {
			continue
		}
		w := byID[st.AttachmentID]
		n := np.nets[w.NetworkID]
		if n == nil {
			continue
		}
		var status, reason string
		switch {
		case n.mapped(d) && down[n.seg.PhysicalNetwork] != "":
			status, reason = agent.StatusDown, down[n.seg.PhysicalNetwork]
		case n.mapped(d):
			status, reason = d.patchProblem(snap, n)
		case n.seg.Type == agent.NetworkTypeVXLAN:
			status, reason = d.tunnelProblem(snap, n)
		}
		if status != "" {
			states[i].Status, states[i].Reason = status, reason
		}
	}
	return states
}
