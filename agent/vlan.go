package agent

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// VLANRange is one --network-vlan-ranges entry: a physical network and the
// VLAN ids the agent may hand out on it (inclusive). A physical network named
// without ids is known (for provider networks) but has no pool.
type VLANRange struct {
	PhysicalNetwork string
	Min, Max        int
}

// ParseVLANRanges parses "physnet1:100:199,physnet2,physnet1:300:310", the
// format of Neutron's network_vlan_ranges.
func ParseVLANRanges(s string) ([]VLANRange, error) {
	var out []VLANRange
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		parts := strings.Split(item, ":")
		if parts[0] == "" {
			return nil, fmt.Errorf("network VLAN range %q: empty physical network name", item)
		}
		switch len(parts) {
		case 1:
			out = append(out, VLANRange{PhysicalNetwork: parts[0]})
		case 3:
			lo, err1 := strconv.Atoi(parts[1])
			hi, err2 := strconv.Atoi(parts[2])
			if err1 != nil || err2 != nil || lo < 1 || hi > 4094 || lo > hi {
				return nil, fmt.Errorf("network VLAN range %q: want PHYSNET:MIN:MAX with 1 <= MIN <= MAX <= 4094", item)
			}
			out = append(out, VLANRange{PhysicalNetwork: parts[0], Min: lo, Max: hi})
		default:
			return nil, fmt.Errorf("network VLAN range %q: want PHYSNET or PHYSNET:MIN:MAX", item)
		}
	}
	return out, nil
}

// vlanPool hands out (physical network, VLAN) pairs not in use. The DB's
// unique index on segment_key is what makes allocation race-free; the pool
// only picks good candidates.
type vlanPool struct {
	ranges []VLANRange
}

// physnets lists the physical networks the pool knows, sorted.
func (p vlanPool) physnets() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range p.ranges {
		if !seen[r.PhysicalNetwork] {
			seen[r.PhysicalNetwork] = true
			out = append(out, r.PhysicalNetwork)
		}
	}
	sort.Strings(out)
	return out
}

// size counts the VLAN ids in the pool per physical network.
func (p vlanPool) size() map[string]int {
	out := map[string]int{}
	for _, r := range p.ranges {
		if r.Max > 0 {
			out[r.PhysicalNetwork] += r.Max - r.Min + 1
		}
	}
	return out
}

// pick returns the first free segment in range order, skipping taken ones
// (segment keys in use or reserved by an allocation in flight).
func (p vlanPool) pick(taken func(key string) bool) (Segment, bool) {
	for _, r := range p.ranges {
		for v := r.Min; r.Max > 0 && v <= r.Max; v++ {
			seg := Segment{Type: NetworkTypeVLAN, PhysicalNetwork: r.PhysicalNetwork, SegmentationID: v}
			if !taken(segmentKey(seg, "")) {
				return seg, true
			}
		}
	}
	return Segment{}, false
}

// segmentKey is the value of Network.segment_key, the column whose unique
// index keeps two networks off one segment. Local networks share nothing, so
// theirs is unique by construction (salt is a fresh UUID).
func segmentKey(seg Segment, salt string) string {
	switch seg.Type {
	case NetworkTypeVLAN:
		return fmt.Sprintf("vlan:%s:%d", seg.PhysicalNetwork, seg.SegmentationID)
	case NetworkTypeFlat:
		return "flat:" + seg.PhysicalNetwork
	case NetworkTypeVXLAN:
		return fmt.Sprintf("vxlan:%d", seg.SegmentationID)
	default:
		return "local:" + salt
	}
}

// reserveVLAN picks a segment that neither the DB nor an allocation in
// flight on this agent holds, and reserves it until release is called.
func (a *Agent) reserveVLAN(ctx context.Context) (Segment, func(), error) {
	nets, err := a.store.listNetworks(ctx)
	if err != nil {
		return Segment{}, nil, err
	}
	used := make(map[string]bool, len(nets))
	for _, n := range nets {
		used[n.SegmentKey] = true
	}
	a.allocMu.Lock()
	defer a.allocMu.Unlock()
	seg, ok := a.pool.pick(func(k string) bool { return used[k] || a.inFlight[k] })
	if !ok {
		return Segment{}, nil, newError(KindOverLimit, nil, "No VLAN left in the network VLAN ranges %s", a.rangesString())
	}
	key := segmentKey(seg, "")
	a.inFlight[key] = true
	return seg, func() {
		a.allocMu.Lock()
		delete(a.inFlight, key)
		a.allocMu.Unlock()
	}, nil
}

func (a *Agent) rangesString() string {
	var parts []string
	for _, r := range a.cfg.VLANRanges {
		if r.Max > 0 {
			parts = append(parts, fmt.Sprintf("%s:%d:%d", r.PhysicalNetwork, r.Min, r.Max))
		}
	}
	if len(parts) == 0 {
		return "(none configured)"
	}
	return strings.Join(parts, ",")
}

// contains reports whether the pool may hand out vlan on physnet.
func (p vlanPool) contains(physnet string, vlan int) bool {
	for _, r := range p.ranges {
		if r.PhysicalNetwork == physnet && r.Max > 0 && vlan >= r.Min && vlan <= r.Max {
			return true
		}
	}
	return false
}
