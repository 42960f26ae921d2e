package ovs

// Local VLANs: the tag a network's ports carry on this host's integration
// bridge. Allocation is per host and stable: a restart adopts the tags the
// owned ports of a network already carry (VM, patch and tunnel ports alike),
// so nothing is retagged; a new network gets its segmentation id when it is
// a vlan network and that id is free here (so that a host upgraded from the
// untranslated layout, where the tag was the segmentation id, changes no
// tag), else the highest free VLAN. 4095 is the dead VLAN and never given.

import (
	"maps"
	"slices"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

// allocateVLANs sets the vlan of every network in nets; a network left with
// 0 found no free VLAN.
func (d *Datapath) allocateVLANs(snap *snapshot, nets map[string]*netPlan) {
	taken := map[int]bool{}
	adoptable := map[string][]int{} // network id -> tags its owned ports carry
	for u := range snap.onBridge {
		port := snap.portByUUID[u]
		if port == nil || port.Tag == nil || !validVLAN(*port.Tag) {
			continue
		}
		net := port.ExternalIDs[networkKey]
		switch {
		case !snap.owned(port, d.cfg.Host) || d.otherDB(port):
			taken[*port.Tag] = true // not ours to retag: that VLAN is someone's
		case nets[net] != nil:
			adoptable[net] = append(adoptable[net], *port.Tag)
		}
		// Any other owned port is deleted by this Sync: its tag is free.
	}
	ids := slices.Sorted(maps.Keys(nets))
	for _, id := range ids {
		tags := adoptable[id]
		slices.Sort(tags)
		for _, tag := range tags {
			if !taken[tag] {
				nets[id].vlan, taken[tag] = tag, true
				break
			}
		}
	}
	for _, id := range ids {
		n := nets[id]
		if n.vlan == 0 && n.seg.Type == agent.NetworkTypeVLAN && !taken[n.seg.SegmentationID] {
			n.vlan, taken[n.seg.SegmentationID] = n.seg.SegmentationID, true
		}
	}
	next := 4094
	for _, id := range ids {
		n := nets[id]
		for n.vlan == 0 && next >= 1 {
			if !taken[next] {
				n.vlan, taken[next] = next, true
			}
			next--
		}
	}
}

// otherDB reports whether an owned port was wired from another Quantum DB
// (and is therefore left alone).
func (d *Datapath) otherDB(port *vswitch.Port) bool {
	id := port.ExternalIDs[dbIDKey]
	return id != "" && d.cfg.QuantumDBID != "" && id != d.cfg.QuantumDBID
}
