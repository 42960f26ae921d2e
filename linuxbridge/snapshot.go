package linuxbridge

import (
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// snapshot is the kernel's links at one moment, indexed for the diff.
type snapshot struct {
	byName  map[string]netlink.Link
	byIndex map[int]netlink.Link
}

func (d *Datapath) snapshot() (*snapshot, error) {
	links, err := listLinks(d.h)
	if err != nil {
		return nil, err
	}
	s := &snapshot{byName: make(map[string]netlink.Link, len(links)), byIndex: make(map[int]netlink.Link, len(links))}
	for _, l := range links {
		s.put(l)
	}
	return s, nil
}

func (s *snapshot) put(l netlink.Link) {
	s.byName[l.Attrs().Name] = l
	s.byIndex[l.Attrs().Index] = l
}

// owns reports whether l carries the ownership marker of this host's agent,
// whichever Quantum DB it names.
func (d *Datapath) owns(l netlink.Link) bool {
	return l != nil && d.ownsAlias(l.Attrs().Alias)
}

// otherDB reports whether l is owned but was made from another Quantum DB
// than this agent's: never deleted, nor are the taps on it released. An
// unknown DB (the marker of older agents) or an agent without a DB id
// counts as the same.
func (d *Datapath) otherDB(l netlink.Link) bool {
	if l == nil || d.cfg.QuantumDBID == "" {
		return false
	}
	owned, id := parseOwner(l.Attrs().Alias, d.cfg.Host)
	return owned && id != "" && id != d.cfg.QuantumDBID
}

// ownedBridge reports whether l is a bridge this agent made.
func (d *Datapath) ownedBridge(l netlink.Link) bool { return d.owns(l) && isBridge(l) }

func isBridge(l netlink.Link) bool { return l != nil && l.Type() == "bridge" }

func adminUp(l netlink.Link) bool { return l.Attrs().Flags&net.FlagUp != 0 }

// operUp reports whether l passes traffic: RFC 2863 "up", or "unknown" with
// the carrier present (tun/tap devices of some drivers never report more).
func operUp(l netlink.Link) bool {
	a := l.Attrs()
	switch a.OperState {
	case netlink.OperUp:
		return true
	case netlink.OperUnknown:
		return a.RawFlags&unix.IFF_LOWER_UP != 0
	}
	return false
}
