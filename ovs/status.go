package ovs

import (
	"fmt"
	"strings"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

// states reports what the cache shows of each desired port.
func (d *Datapath) states(snap *snapshot, desired []agent.WiredPort, failed map[string]string) []agent.PortState {
	out := make([]agent.PortState, 0, len(desired))
	for _, w := range desired {
		st := agent.PortState{AttachmentID: w.AttachmentID}
		if reason, ok := failed[w.AttachmentID]; ok {
			st.Status, st.Reason = agent.StatusFailed, reason
			out = append(out, st)
			continue
		}
		port := snap.portByName[w.Device]
		var iface *vswitch.Interface
		if snap.owned(port, d.cfg.Host) {
			iface = snap.portInterface(port, w.Device)
		}
		st.Status, st.Reason = interfaceStatus(w.Device, iface)
		out = append(out, st)
	}
	return out
}

// interfaceStatus maps what vswitchd wrote on an interface to a status.
func interfaceStatus(dev string, iface *vswitch.Interface) (status, reason string) {
	switch {
	case iface == nil:
		return agent.StatusProvisioning, fmt.Sprintf("port %s is being created", dev)
	case iface.Error != nil && *iface.Error != "":
		return agent.StatusDown, interfaceError(dev, *iface.Error)
	case iface.Ofport == nil:
		return agent.StatusProvisioning, fmt.Sprintf("device %s not yet seen by ovs-vswitchd", dev)
	case *iface.Ofport == -1:
		return agent.StatusDown, fmt.Sprintf("device %s could not be opened by ovs-vswitchd", dev)
	case iface.LinkState != nil && *iface.LinkState == vswitch.InterfaceLinkStateDown:
		return agent.StatusDown, fmt.Sprintf("link of device %s is down", dev)
	default:
		return agent.StatusUp, ""
	}
}

func interfaceError(dev, msg string) string {
	if strings.Contains(msg, "No such device") {
		return fmt.Sprintf("device %s does not exist", dev)
	}
	return fmt.Sprintf("device %s: %s", dev, msg)
}
