package linuxbridge

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/quantum-agent/quantum-agent/agent"
)

// network is one bridge's worth of desired state.
type network struct {
	id     string
	bridge string
	mtu    int
	up     uplink
	peers  []netip.Addr // VTEPs to flood to (vxlan), sorted
	ports  []agent.WiredPort
}

// grouping is the desired state by network, plus the attachments that
// cannot be wired whatever the kernel holds, with why.
type grouping struct {
	nets     []*network        // sorted by bridge name
	bridgeOf map[string]string // attachment id -> bridge
	failed   map[string]string // attachment id -> reason
}

// group sorts desired ports into networks and refuses what cannot be
// carried. It reads no kernel state, so it is tested without root.
func (c *Config) group(desired []agent.WiredPort) grouping {
	g := grouping{bridgeOf: map[string]string{}, failed: map[string]string{}}
	byBridge := map[string]*network{}
	byUplink := map[string]string{} // uplink name -> network id
	devices := map[string]string{}  // device -> attachment id
	for _, w := range desired {
		switch {
		case w.Device == "" || len(w.Device) > maxLinkName:
			g.failed[w.AttachmentID] = fmt.Sprintf("device %q is not a link name (1 to %d characters)", w.Device, maxLinkName)
			continue
		case devices[w.Device] != "":
			g.failed[w.AttachmentID] = fmt.Sprintf("device %s is also wanted by attachment %s", w.Device, devices[w.Device])
			continue
		}
		devices[w.Device] = w.AttachmentID
		up, mtu, err := c.uplinkFor(w.Segment)
		if err != nil {
			g.failed[w.AttachmentID] = err.Error()
			continue
		}
		name := BridgeName(w.NetworkID)
		n := byBridge[name]
		switch {
		case n == nil:
			if other, taken := byUplink[up.name]; taken && up.name != "" {
				g.failed[w.AttachmentID] = fmt.Sprintf("uplink %s of network %s is already the uplink of network %s", up.name, w.NetworkID, other)
				continue
			}
			n = &network{id: w.NetworkID, bridge: name, mtu: mtu, up: up}
			byBridge[name] = n
			if up.name != "" {
				byUplink[up.name] = w.NetworkID
			}
		case n.id != w.NetworkID:
			g.failed[w.AttachmentID] = fmt.Sprintf("bridge name %s of network %s is already taken by network %s", name, w.NetworkID, n.id)
			continue
		}
		n.ports = append(n.ports, w)
		n.peers = append(n.peers, c.peersOf(w)...)
		g.bridgeOf[w.AttachmentID] = name
	}
	for _, n := range byBridge {
		slices.SortFunc(n.peers, func(a, b netip.Addr) int { return a.Compare(b) })
		n.peers = slices.Compact(n.peers)
		g.nets = append(g.nets, n)
	}
	slices.SortFunc(g.nets, func(a, b *network) int { return strings.Compare(a.bridge, b.bridge) })
	g.refuseInfrastructure(byBridge, byUplink)
	return g
}

// refuseInfrastructure fails ports whose device is a bridge or uplink the
// datapath manages: plugging one into a bridge would loop or steal it.
func (g *grouping) refuseInfrastructure(bridges map[string]*network, uplinks map[string]string) {
	for _, n := range g.nets {
		kept := n.ports[:0]
		for _, w := range n.ports {
			_, isBridge := bridges[w.Device]
			_, isUplink := uplinks[w.Device]
			if isBridge || isUplink {
				g.failed[w.AttachmentID] = fmt.Sprintf("device %s is a bridge or uplink of the linuxbridge datapath; it cannot be plugged", w.Device)
				delete(g.bridgeOf, w.AttachmentID)
				continue
			}
			kept = append(kept, w)
		}
		n.ports = kept
	}
}

// peersOf returns the VTEPs of w's network on other hosts (vxlan only);
// malformed addresses and this host's own are left out.
func (c *Config) peersOf(w agent.WiredPort) []netip.Addr {
	if w.Segment.Type != agent.NetworkTypeVXLAN {
		return nil
	}
	var out []netip.Addr
	for _, p := range w.Peers {
		a, err := netip.ParseAddr(p)
		if err != nil || !a.Is4() || a == c.VXLANLocalIP {
			continue
		}
		out = append(out, a)
	}
	return out
}
