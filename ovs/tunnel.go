package ovs

// VXLAN networks (policy: physnet.go): one tunnel port per (network, peer
// host that has the network) on the integration bridge, on the network's
// local VLAN, keyed with its VNI. ovs-vswitchd's userspace tunnelling finds
// the route and neighbour to the peer by itself (the VTEP address sits on an
// internal port of a netdev bridge, docs/datapaths.md), so OVSDB rows are
// all it takes: no flows.
//
// Tunnel ports are protected: NORMAL switching would otherwise flood what
// one tunnel brings in out of every other tunnel of the VLAN, and with three
// hosts in a full mesh one ARP became 135,524 frames in 2 s (measured);
// protected ports never forward to one another, and each host floods to
// every peer itself (head-end replication), so nothing is lost by it.

import (
	"encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

// External_ids of tunnel ports: the peer marks a port as a tunnel (Sync's VM
// port diff leaves those to the code here).
const (
	tunnelPeerKey = "quantum-vxlan-peer"
	vniKey        = "quantum-vni"
)

// egressKey is the Interface status key ovs-vswitchd sets while it has a
// route to a tunnel's remote end.
const egressKey = "tunnel_egress_iface"

// tunnelName names the tunnel of VNI vni to peer: "v", the VNI in six hex
// digits and the peer's IPv4 address in eight, 15 characters in all and
// unique on the host (a VNI belongs to one network).
func tunnelName(vni int, peer string) (string, bool) {
	a, err := netip.ParseAddr(peer)
	if err != nil || !a.Is4() || vni < 1 || vni > maxVNI {
		return "", false
	}
	b := a.As4()
	return fmt.Sprintf("v%06x%08x", vni, binary.BigEndian.Uint32(b[:])), true
}

// tunnel is one tunnel port as it must be.
type tunnel struct {
	name, peer string
	n          *netPlan
}

// tunnels lists the tunnels network n needs, and the peers it can make
// none to (not IPv4 addresses).
func tunnels(n *netPlan) (out []tunnel, bad []string) {
	for _, peer := range n.peers {
		if name, ok := tunnelName(n.seg.SegmentationID, peer); ok {
			out = append(out, tunnel{name: name, peer: peer, n: n})
		} else {
			bad = append(bad, peer)
		}
	}
	return out, bad
}

// planTunnels adds to p what makes every vxlan network's tunnel ports exist
// as they must, and removes our tunnel ports no network wants any more.
func (d *Datapath) planTunnels(p *plan, snap *snapshot, np *networksPlan) error {
	wanted := map[string]bool{}
	i := 0
	for _, id := range slices.Sorted(maps.Keys(np.nets)) {
		tns, bad := tunnels(np.nets[id])
		if len(bad) > 0 {
			d.log.Warn("peer VTEPs that are not IPv4 addresses get no tunnel", "network", id, "peers", bad)
		}
		for _, tn := range tns {
			wanted[tn.name] = true
			cur := snap.portByName[tn.name]
			switch {
			case cur == nil && snap.ifByName[tn.name] == nil:
				iface, port := d.tunnelRows(fmt.Sprintf("tunnel%d", i), tn)
				i++
				p.newIfs = append(p.newIfs, iface)
				p.newPorts = append(p.newPorts, port)
				p.addPorts = append(p.addPorts, port.UUID)
				p.created = append(p.created, tn.name)
			case snap.owned(cur, d.cfg.Host):
				if err := d.planTunnelUpdate(p, snap, cur, tn); err != nil {
					return err
				}
			}
		}
	}
	for u := range snap.onBridge {
		port := snap.portByUUID[u]
		if port != nil && snap.owned(port, d.cfg.Host) && port.ExternalIDs[tunnelPeerKey] != "" &&
			!wanted[port.Name] && !d.otherDB(port) {
			p.delPorts = append(p.delPorts, u)
		}
	}
	return nil
}

// tunnelRows builds a tunnel's rows.
func (d *Datapath) tunnelRows(uuidPrefix string, tn tunnel) (*vswitch.Interface, *vswitch.Port) {
	ids := d.tunnelIDs(nil, tn)
	iface := &vswitch.Interface{
		UUID: uuidPrefix + "_if", Name: tn.name, Type: "vxlan",
		Options:     d.tunnelOptions(nil, tn),
		ExternalIDs: map[string]string{ownerKey: d.cfg.Host},
	}
	tag, mode := tn.n.vlan, vswitch.PortVLANModeAccess
	port := &vswitch.Port{
		UUID: uuidPrefix + "_port", Name: tn.name, Interfaces: []string{iface.UUID},
		Tag: &tag, VLANMode: &mode, Protected: true, ExternalIDs: ids,
	}
	return iface, port
}

func (d *Datapath) tunnelIDs(cur map[string]string, tn tunnel) map[string]string {
	ids := maps.Clone(cur)
	if ids == nil {
		ids = map[string]string{}
	}
	ids[ownerKey] = d.cfg.Host
	setOrDelete(ids, dbIDKey, d.cfg.QuantumDBID)
	ids[networkKey] = tn.n.id
	ids[vniKey] = strconv.Itoa(tn.n.seg.SegmentationID)
	ids[tunnelPeerKey] = tn.peer
	return ids
}

func (d *Datapath) tunnelOptions(cur map[string]string, tn tunnel) map[string]string {
	opts := maps.Clone(cur)
	if opts == nil {
		opts = map[string]string{}
	}
	opts["remote_ip"] = tn.peer
	opts["local_ip"] = d.cfg.VXLANLocalIP.String()
	opts["key"] = strconv.Itoa(tn.n.seg.SegmentationID)
	return opts
}

// planTunnelUpdate heals an existing tunnel port: its VLAN, protection and
// marks, and its interface's type and options.
func (d *Datapath) planTunnelUpdate(p *plan, snap *snapshot, port *vswitch.Port, tn tunnel) error {
	_, want := d.tunnelRows("x", tn)
	ids := d.tunnelIDs(port.ExternalIDs, tn)
	if !sameInt(port.Tag, want.Tag) || !sameMode(port.VLANMode, want.VLANMode) || len(port.Trunks) > 0 ||
		!port.Protected || !maps.Equal(ids, port.ExternalIDs) {
		row := &vswitch.Port{UUID: port.UUID, Tag: want.Tag, VLANMode: want.VLANMode, Protected: true, ExternalIDs: ids}
		ops, err := d.client.Where(row).Update(row, &row.Tag, &row.VLANMode, &row.Trunks, &row.Protected, &row.ExternalIDs)
		if err != nil {
			return fmt.Errorf("update tunnel port %s: %w", port.Name, err)
		}
		p.ops = append(p.ops, ops...)
		p.updated = append(p.updated, port.Name)
		p.reconfigure = true
	}
	iface := snap.portInterface(port, port.Name)
	if iface == nil {
		return nil
	}
	if opts := d.tunnelOptions(iface.Options, tn); iface.Type != "vxlan" || !maps.Equal(opts, iface.Options) {
		return d.planInterfaceType(p, port.Name, iface, "vxlan", opts)
	}
	return nil
}

// tunnelProblem says why network n's tunnels do not all work: the status
// and reason of its attachments, or "" when they do.
func (d *Datapath) tunnelProblem(snap *snapshot, n *netPlan) (status, reason string) {
	tns, _ := tunnels(n)
	for _, tn := range tns {
		port := snap.portByName[tn.name]
		iface := snap.ifByName[tn.name]
		switch {
		case port == nil || iface == nil:
			return agent.StatusProvisioning, fmt.Sprintf("tunnel port %s to %s is being created", tn.name, tn.peer)
		case !snap.owned(port, d.cfg.Host):
			return agent.StatusDown, fmt.Sprintf("port %s for the tunnel to %s exists but is not owned by quantum-agent", tn.name, tn.peer)
		case iface.Error != nil && *iface.Error != "":
			return agent.StatusDown, fmt.Sprintf("tunnel port %s to %s: %s", tn.name, tn.peer, *iface.Error)
		case iface.Status[egressKey] == "":
			return agent.StatusDown, fmt.Sprintf("tunnel port %s to %s has no route to the peer from %s "+
				"(ovs-vswitchd reports no %s: check --vxlan-local-ip and the routes; on the userspace datapath "+
				"the address must sit on an OVS internal port of a netdev bridge)",
				tn.name, tn.peer, d.cfg.VXLANLocalIP, egressKey)
		}
	}
	return "", ""
}
