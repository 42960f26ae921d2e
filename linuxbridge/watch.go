package linuxbridge

import "github.com/vishvananda/netlink"

// watchSet is what the last Sync wired or wants: link events about anything
// else (the host's other interfaces, other agents' links) cause no pass.
type watchSet struct {
	valid   bool            // false until the first Sync: everything is relevant
	names   map[string]bool // desired devices, bridges and uplinks
	indexes map[int]bool    // their ifindexes, and those of the owned bridges
}

// relevant reports whether a link event may concern this datapath. The
// ifindex tells a re-created tap from the one that was wired: the old one's
// deletion matches by index, the new one's creation by name.
func (d *Datapath) relevant(u netlink.LinkUpdate) bool {
	a := u.Attrs()
	if a == nil {
		return true
	}
	d.watchMu.Lock()
	defer d.watchMu.Unlock()
	w := d.watched
	return !w.valid || w.names[a.Name] || w.indexes[a.Index] || w.indexes[a.MasterIndex] || d.ownsAlias(a.Alias)
}

func (d *Datapath) setWatched(w watchSet) {
	d.watchMu.Lock()
	defer d.watchMu.Unlock()
	d.watched = w
}

// ownsAlias reports whether alias is an ownership marker of this host's
// agent, whichever Quantum DB it names: links of another DB count too, so
// that their comings and goings refresh the warning about them.
func (d *Datapath) ownsAlias(alias string) bool {
	owned, _ := parseOwner(alias, d.cfg.Host)
	return owned
}
