package linuxbridge

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ensureUplink puts the network's uplink on its bridge: a VXLAN device with
// flood entries to the peers, a VLAN sub-interface, or the mapped NIC.
func (d *Datapath) ensureUplink(snap *snapshot, n *network, br netlink.Link) error {
	switch n.up.kind {
	case uplinkVXLAN:
		l, err := d.ensureVXLAN(snap, n)
		if err != nil {
			return err
		}
		if err := d.ensureMember(l, br, n.mtu); err != nil {
			return err
		}
		return d.ensureFlood(l, n.peers)
	case uplinkVLAN:
		l, err := d.ensureVLAN(snap, n)
		if err != nil {
			return err
		}
		return d.ensureMember(l, br, n.mtu)
	case uplinkFlat:
		return d.ensureFlat(snap, n, br)
	}
	return nil
}

// ensureVXLAN creates the VXLAN device of the network's VNI, or adopts the
// owned one; one whose settings drifted is made again (a VNI cannot be
// changed in place).
func (d *Datapath) ensureVXLAN(snap *snapshot, n *network) (netlink.Link, error) {
	l := snap.byName[n.up.name]
	if l != nil && !d.owns(l) {
		return nil, fmt.Errorf("uplink of network %s: %w", n.id, foreign(l, d.cfg.Host))
	}
	if vx, ok := l.(*netlink.Vxlan); l != nil && (!ok || !d.vxlanRight(vx, n.up.id)) {
		if err := d.do(d.h.LinkDel(l)); err != nil {
			return nil, fmt.Errorf("delete VXLAN device %s to make it again with VNI %d from %s: %w", n.up.name, n.up.id, d.cfg.VXLANLocalIP, err)
		}
		d.log.Info("deleted VXLAN device with other settings", "device", n.up.name)
		l = nil
	}
	if l != nil {
		return l, d.adopt(snap, l)
	}
	vx := &netlink.Vxlan{
		LinkAttrs: netlink.LinkAttrs{Name: n.up.name, MTU: n.mtu},
		VxlanId:   n.up.id,
		SrcAddr:   net.IP(d.cfg.VXLANLocalIP.AsSlice()),
		Port:      d.cfg.VXLANPort,
		// No learning: where each MAC lives is flooded to the peers the
		// Quantum DB names, never guessed from what arrives.
		Learning: false,
	}
	created, err := d.createOwned(snap, vx)
	if err != nil {
		return nil, fmt.Errorf("create VXLAN device %s (VNI %d, local %s, port %d): %w", n.up.name, n.up.id, d.cfg.VXLANLocalIP, d.cfg.VXLANPort, err)
	}
	d.log.Info("created VXLAN device", "device", n.up.name, "vni", n.up.id, "local", d.cfg.VXLANLocalIP)
	return created, nil
}

func (d *Datapath) vxlanRight(vx *netlink.Vxlan, vni int) bool {
	src, _ := netip.AddrFromSlice(vx.SrcAddr)
	return vx.VxlanId == vni && src.Unmap() == d.cfg.VXLANLocalIP && !vx.Learning && vx.Port == d.cfg.VXLANPort
}

// ensureVLAN creates the VLAN sub-interface of the mapped NIC; on a kernel
// without 802.1Q the creation fails and the kernel's reason is the error.
func (d *Datapath) ensureVLAN(snap *snapshot, n *network) (netlink.Link, error) {
	l := snap.byName[n.up.name]
	if l != nil && !d.owns(l) {
		return nil, fmt.Errorf("uplink of network %s: %w", n.id, foreign(l, d.cfg.Host))
	}
	parent := snap.byName[n.up.parent]
	if parent == nil {
		return nil, fmt.Errorf("interface %s of the network's physical network does not exist", n.up.parent)
	}
	if v, ok := l.(*netlink.Vlan); l != nil && (!ok || v.VlanId != n.up.id || v.ParentIndex != parent.Attrs().Index) {
		if err := d.do(d.h.LinkDel(l)); err != nil {
			return nil, fmt.Errorf("delete VLAN device %s to make it again on %s: %w", n.up.name, n.up.parent, err)
		}
		l = nil
	}
	if l != nil {
		return l, d.adopt(snap, l)
	}
	v := &netlink.Vlan{
		LinkAttrs: netlink.LinkAttrs{Name: n.up.name, MTU: n.mtu, ParentIndex: parent.Attrs().Index},
		VlanId:    n.up.id,
	}
	created, err := d.createOwned(snap, v)
	if err != nil {
		return nil, fmt.Errorf("create VLAN sub-interface %s of %s (VLAN %d): %w", n.up.name, n.up.parent, n.up.id, err)
	}
	d.log.Info("created VLAN sub-interface", "device", n.up.name, "parent", n.up.parent, "vlan", n.up.id)
	return created, nil
}

// ensureFlat enslaves the mapped NIC itself: the mapping is the operator's
// consent to that, and to nothing more (its MTU and alias are left alone).
func (d *Datapath) ensureFlat(snap *snapshot, n *network, br netlink.Link) error {
	l := snap.byName[n.up.name]
	if l == nil {
		return fmt.Errorf("interface %s of the network's physical network does not exist", n.up.name)
	}
	m := l.Attrs().MasterIndex
	if m != 0 && m != br.Attrs().Index {
		return fmt.Errorf("interface %s is already a port of %s", n.up.name, masterName(snap, m))
	}
	if m == 0 {
		if err := d.do(d.h.LinkSetMasterByIndex(l, br.Attrs().Index)); err != nil {
			return fmt.Errorf("enslave interface %s to bridge %s: %w", n.up.name, n.bridge, err)
		}
	}
	if !adminUp(l) {
		if err := d.do(d.h.LinkSetUp(l)); err != nil {
			return fmt.Errorf("set interface %s up: %w", n.up.name, err)
		}
	}
	return nil
}

// ensureMember makes an owned uplink a port of br with the network's MTU, up.
func (d *Datapath) ensureMember(l, br netlink.Link, mtu int) error {
	a := l.Attrs()
	if a.MTU != mtu {
		if err := d.do(d.h.LinkSetMTU(l, mtu)); err != nil {
			return fmt.Errorf("set MTU %d on %s: %w", mtu, a.Name, err)
		}
	}
	if a.MasterIndex != br.Attrs().Index {
		if err := d.do(d.h.LinkSetMasterByIndex(l, br.Attrs().Index)); err != nil {
			return fmt.Errorf("enslave %s to bridge %s: %w", a.Name, br.Attrs().Name, err)
		}
	}
	if !adminUp(l) {
		if err := d.do(d.h.LinkSetUp(l)); err != nil {
			return fmt.Errorf("set %s up: %w", a.Name, err)
		}
	}
	return nil
}

// zeroMAC is the FDB address a VXLAN device floods broadcast, multicast and
// unknown unicast to: one entry per remote, `bridge fdb append 00:00:00:00:00:00`.
var zeroMAC = net.HardwareAddr{0, 0, 0, 0, 0, 0}

// ensureFlood makes the VXLAN device's all-zero FDB entries exactly the
// peers: one appended per new peer, stale ones deleted.
func (d *Datapath) ensureFlood(l netlink.Link, peers []netip.Addr) error {
	index := l.Attrs().Index
	entries, err := listFDB(d.h, index)
	if err != nil {
		return fmt.Errorf("read flood entries of %s: %w", l.Attrs().Name, err)
	}
	have := map[netip.Addr]bool{}
	for _, e := range entries {
		if e.LinkIndex != index || e.HardwareAddr.String() != zeroMAC.String() || e.IP == nil {
			continue
		}
		if a, ok := netip.AddrFromSlice(e.IP); ok {
			have[a.Unmap()] = true
		}
	}
	want := map[netip.Addr]bool{}
	for _, p := range peers {
		want[p] = true
		if have[p] {
			continue
		}
		if err := d.do(d.h.NeighAppend(floodEntry(index, p))); err != nil {
			return fmt.Errorf("add flood entry to %s on %s: %w", p, l.Attrs().Name, err)
		}
		d.log.Info("added VXLAN peer", "device", l.Attrs().Name, "peer", p)
	}
	for a := range have {
		if want[a] {
			continue
		}
		if err := d.do(d.h.NeighDel(floodEntry(index, a))); err != nil {
			return fmt.Errorf("delete flood entry to %s on %s: %w", a, l.Attrs().Name, err)
		}
		d.log.Info("removed VXLAN peer", "device", l.Attrs().Name, "peer", a)
	}
	return nil
}

func floodEntry(index int, peer netip.Addr) *netlink.Neigh {
	return &netlink.Neigh{
		LinkIndex:    index,
		Family:       unix.AF_BRIDGE,
		Flags:        netlink.NTF_SELF,
		State:        netlink.NUD_NOARP | netlink.NUD_PERMANENT,
		HardwareAddr: zeroMAC,
		IP:           net.IP(peer.AsSlice()),
	}
}
