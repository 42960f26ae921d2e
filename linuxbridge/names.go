package linuxbridge

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/quantum-agent/quantum-agent/agent"
)

// maxLinkName is the longest Linux interface name (IFNAMSIZ - 1).
const maxLinkName = 15

// MTUs of the links of a network. A VXLAN network loses 50 bytes to the
// encapsulation (outer Ethernet, IPv4, UDP and VXLAN headers) on a 1500-byte
// underlay.
const (
	DefaultMTU      = 1500
	DefaultVXLANMTU = 1450
)

// DefaultVXLANPort is the IANA VXLAN port (the kernel's own default, 8472, is
// the pre-standard one).
const DefaultVXLANPort = 4789

// BridgeName is the bridge of a network: "brq" and the first 11 characters
// of its id, Neutron's scheme, so operators recognise it and names survive
// restarts without any stored mapping.
func BridgeName(networkID string) string {
	const idChars = 11
	id := networkID
	if len(id) > idChars {
		id = id[:idChars]
	}
	return "brq" + id
}

// VXLANName is the VXLAN device of a VNI; "vxlan-16777215" is 14 characters.
func VXLANName(vni int) string { return "vxlan-" + strconv.Itoa(vni) }

// VLANName is the VLAN sub-interface of nic for vid, "eth1.101"; a NIC name
// too long to take the suffix is cut, as the kernel limits names to 15.
func VLANName(nic string, vid int) string {
	suffix := "." + strconv.Itoa(vid)
	if len(nic)+len(suffix) > maxLinkName {
		nic = nic[:maxLinkName-len(suffix)]
	}
	return nic + suffix
}

// maxAlias is the longest link alias the kernel keeps (IFALIASZ - 1).
const maxAlias = 255

// aliasPrefix starts every ownership marker.
const aliasPrefix = "quantum-agent:"

// ownerAlias is the ownership marker the agent of host puts on the links it
// creates: "quantum-agent:<host>:<Quantum DB id>", or "quantum-agent:<host>"
// without a Quantum DB id (the form of agents before the id was recorded).
func ownerAlias(host, dbID string) string {
	if dbID == "" {
		return aliasPrefix + host
	}
	return aliasPrefix + host + ":" + dbID
}

// parseOwner reads an ownership marker of host's agent: owned is whether
// alias is one, dbID the Quantum DB it names ("" for the old form, which
// names none). Another host's marker is not owned, whatever its form; a
// host name with a colon in it could only make an alias look owned with a
// DB id that is not ours, which is left alone: the safe side.
func parseOwner(alias, host string) (owned bool, dbID string) {
	rest, ok := strings.CutPrefix(alias, aliasPrefix+host)
	switch {
	case !ok:
		return false, ""
	case rest == "":
		return true, ""
	}
	id, ok := strings.CutPrefix(rest, ":")
	if !ok || id == "" || strings.Contains(id, ":") {
		return false, ""
	}
	return true, id
}

// uplinkKind is how a network reaches other hosts.
type uplinkKind int

const (
	uplinkNone  uplinkKind = iota // local: the bridge alone
	uplinkVXLAN                   // a VXLAN device the agent creates
	uplinkVLAN                    // a VLAN sub-interface the agent creates
	uplinkFlat                    // the mapped NIC itself, the operator's
)

// uplink says which device carries a network off the host.
type uplink struct {
	kind   uplinkKind
	name   string // the device on the bridge
	parent string // the mapped NIC (vlan)
	id     int    // VNI or VLAN id
}

// uplinkFor works out a segment's uplink from the configuration, or why the
// segment cannot be carried.
func (c *Config) uplinkFor(seg agent.Segment) (uplink, int, error) {
	switch seg.Type {
	case agent.NetworkTypeLocal:
		return uplink{kind: uplinkNone}, c.MTU, nil
	case agent.NetworkTypeVXLAN:
		if !c.VXLANLocalIP.IsValid() {
			return uplink{}, 0, fmt.Errorf("VXLAN network (VNI %d) needs a local VTEP address: set --vxlan-local-ip", seg.SegmentationID)
		}
		if seg.SegmentationID < 1 || seg.SegmentationID > 1<<24-1 {
			return uplink{}, 0, fmt.Errorf("VNI %d out of range 1..16777215", seg.SegmentationID)
		}
		return uplink{kind: uplinkVXLAN, name: VXLANName(seg.SegmentationID), id: seg.SegmentationID}, c.VXLANMTU, nil
	case agent.NetworkTypeVLAN, agent.NetworkTypeFlat:
		nic, ok := c.InterfaceMappings[seg.PhysicalNetwork]
		if !ok {
			return uplink{}, 0, fmt.Errorf("physical network %q has no interface on this host (--interface-mappings)", seg.PhysicalNetwork)
		}
		if seg.Type == agent.NetworkTypeFlat {
			return uplink{kind: uplinkFlat, name: nic}, c.MTU, nil
		}
		if seg.SegmentationID < 1 || seg.SegmentationID > 4094 {
			return uplink{}, 0, fmt.Errorf("VLAN id %d out of range 1..4094", seg.SegmentationID)
		}
		return uplink{kind: uplinkVLAN, name: VLANName(nic, seg.SegmentationID), parent: nic, id: seg.SegmentationID}, c.MTU, nil
	default:
		return uplink{}, 0, fmt.Errorf("network type %q is not carried by the linuxbridge datapath", seg.Type)
	}
}
