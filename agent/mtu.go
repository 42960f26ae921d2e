package agent

import "fmt"

// MTUs: what a guest on a network may send in one frame. The agent does not
// store it: it follows from the network's type and the underlay MTU the
// operator gives every agent of the cloud (--underlay-mtu), so a changed
// underlay changes every network's answer at once and no row disagrees.

// DefaultUnderlayMTU is the underlay MTU when the operator gives none: plain
// Ethernet.
const DefaultUnderlayMTU = 1500

// VXLANOverhead is what VXLAN over IPv4 adds around a guest's IP packet
// inside the underlay's MTU: outer IPv4 (20), UDP (8) and VXLAN (8) headers
// and the guest's own Ethernet header (14), which the tunnel carries.
const VXLANOverhead = 50

// Bounds of --underlay-mtu: 576 is the IPv4 datagram every host must accept
// (RFC 791), so even a VXLAN guest keeps a usable MTU; 65535 is the largest
// IPv4 packet.
const (
	MinUnderlayMTU = 576
	MaxUnderlayMTU = 65535
)

// GuestMTU is the MTU a guest on a network of the type should use when the
// underlay carries packets of underlay bytes: VXLAN loses its encapsulation,
// VLAN, flat and local networks carry the guest's frames as they are. A
// zero underlay is DefaultUnderlayMTU.
func GuestMTU(networkType string, underlay int) int {
	if underlay == 0 {
		underlay = DefaultUnderlayMTU
	}
	if networkType == NetworkTypeVXLAN {
		return underlay - VXLANOverhead
	}
	return underlay
}

// CheckUnderlayMTU refuses an underlay MTU outside the bounds above.
func CheckUnderlayMTU(mtu int) error {
	if mtu < MinUnderlayMTU || mtu > MaxUnderlayMTU {
		return fmt.Errorf("%d is not an MTU from %d to %d", mtu, MinUnderlayMTU, MaxUnderlayMTU)
	}
	return nil
}

// withMTU fills the network's MTU from this agent's underlay.
func (a *Agent) withMTU(n Network) Network {
	n.MTU = GuestMTU(n.Segment.Type, a.cfg.UnderlayMTU)
	return n
}
