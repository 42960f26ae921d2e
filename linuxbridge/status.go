package linuxbridge

import (
	"fmt"

	"github.com/quantum-agent/quantum-agent/agent"
)

// states reports what the kernel shows of each desired port, in the same
// terms as the OVS datapath: UP when wired and passing traffic, DOWN with
// the reason when the device is missing or its link is down, FAILED with
// the reason when it cannot be wired.
func (d *Datapath) states(snap *snapshot, g grouping, desired []agent.WiredPort) []agent.PortState {
	out := make([]agent.PortState, 0, len(desired))
	for _, w := range desired {
		st := agent.PortState{AttachmentID: w.AttachmentID}
		st.Status, st.Reason = d.portStatus(snap, g, w)
		out = append(out, st)
	}
	return out
}

func (d *Datapath) portStatus(snap *snapshot, g grouping, w agent.WiredPort) (status, reason string) {
	if reason, ok := g.failed[w.AttachmentID]; ok {
		return agent.StatusFailed, reason
	}
	l := snap.byName[w.Device]
	if l == nil {
		return agent.StatusDown, fmt.Sprintf("device %s does not exist", w.Device)
	}
	bridge := g.bridgeOf[w.AttachmentID]
	br := snap.byName[bridge]
	if br == nil || l.Attrs().MasterIndex != br.Attrs().Index {
		return agent.StatusDown, fmt.Sprintf("device %s is not on bridge %s", w.Device, bridge)
	}
	switch {
	case !w.AdminUp:
		// Wired and held down on purpose: as with OVS's dead VLAN, the
		// port's DOWN admin state is what the port's op-status shows.
		return agent.StatusUp, ""
	case !adminUp(l):
		return agent.StatusDown, fmt.Sprintf("device %s is administratively down", w.Device)
	case !operUp(l):
		return agent.StatusDown, fmt.Sprintf("link of device %s is down", w.Device)
	}
	return agent.StatusUp, ""
}

// Warnings returns what needs an operator's attention without making the
// datapath unready: owned links left in place because another Quantum DB
// made them (as of the last Sync).
func (d *Datapath) Warnings() []string {
	links, ports := d.otherDBLinks.Load(), d.otherDBTaps.Load()
	if links == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%d bridges and uplinks were made from another Quantum DB than %s and are left untouched, "+
		"with the %d ports on them this database does not want; delete them by hand (ip -d link show | grep 'alias %s:', "+
		"then ip link del) if that database is gone for good", links, d.cfg.QuantumDBID, ports, ownerAlias(d.cfg.Host, ""))}
}
