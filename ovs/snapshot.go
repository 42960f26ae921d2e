package ovs

import (
	"context"
	"fmt"
	"time"

	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

// snapshot is a consistent-enough copy of the cached rows the datapath
// reads, indexed for the diff.
type snapshot struct {
	root       *vswitch.OpenvSwitch
	bridge     *vswitch.Bridge // the integration bridge; nil when missing
	portByName map[string]*vswitch.Port
	portByUUID map[string]*vswitch.Port
	ifByName   map[string]*vswitch.Interface
	ifByUUID   map[string]*vswitch.Interface
	onBridge   map[string]bool // port UUIDs of the integration bridge
	// bridgeByName holds every bridge (physical bridges too).
	bridgeByName map[string]*vswitch.Bridge
}

// readTimeout bounds how long a read waits for the cache to become
// consistent after a reconnect before reading what is there.
const readTimeout = 2 * time.Second

func (d *Datapath) snapshot(ctx context.Context) (*snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	var (
		roots  []vswitch.OpenvSwitch
		brs    []vswitch.Bridge
		ports  []vswitch.Port
		ifaces []vswitch.Interface
	)
	for _, l := range []any{&roots, &brs, &ports, &ifaces} {
		if err := d.client.List(ctx, l); err != nil {
			return nil, fmt.Errorf("read Open_vSwitch cache: %w", err)
		}
	}
	s := &snapshot{
		portByName: make(map[string]*vswitch.Port, len(ports)),
		portByUUID: make(map[string]*vswitch.Port, len(ports)),
		ifByName:   make(map[string]*vswitch.Interface, len(ifaces)),
		ifByUUID:   make(map[string]*vswitch.Interface, len(ifaces)),
		onBridge:   map[string]bool{},
	}
	if len(roots) > 0 {
		s.root = &roots[0]
	}
	s.bridgeByName = make(map[string]*vswitch.Bridge, len(brs))
	for i := range brs {
		s.bridgeByName[brs[i].Name] = &brs[i]
		if brs[i].Name == d.cfg.Bridge {
			s.bridge = &brs[i]
		}
	}
	if s.bridge != nil {
		for _, u := range s.bridge.Ports {
			s.onBridge[u] = true
		}
	}
	for i := range ports {
		p := &ports[i]
		s.portByName[p.Name] = p
		s.portByUUID[p.UUID] = p
	}
	for i := range ifaces {
		f := &ifaces[i]
		s.ifByName[f.Name] = f
		s.ifByUUID[f.UUID] = f
	}
	return s, nil
}

// owned reports whether p is a port of the integration bridge that carries
// this host's ownership marker.
func (s *snapshot) owned(p *vswitch.Port, host string) bool {
	return p != nil && s.onBridge[p.UUID] && p.ExternalIDs[ownerKey] == host
}

// portInterface returns the interface of port p named name, if any.
func (s *snapshot) portInterface(p *vswitch.Port, name string) *vswitch.Interface {
	for _, u := range p.Interfaces {
		if f := s.ifByUUID[u]; f != nil && f.Name == name {
			return f
		}
	}
	return nil
}

// bridgeProblem says why the integration bridge cannot be wired into, or nil.
func (s *snapshot) bridgeProblem(name string) error {
	if s.bridge == nil {
		return fmt.Errorf("integration bridge %s does not exist", name)
	}
	local := s.ifByName[name]
	if local == nil {
		return nil // vswitchd will create the local port; nothing known to be wrong
	}
	if local.Error != nil && *local.Error != "" {
		if s.bridge.DatapathType == "" || s.bridge.DatapathType == DatapathSystem {
			// The usual cause: no openvswitch kernel module, or no
			// ovs-vswitchd managing the kernel datapath.
			return fmt.Errorf("integration bridge %s has no working datapath: %s; the system datapath needs the "+
				"openvswitch kernel module loaded (modprobe openvswitch) and a running openvswitch-switch (ovs-vswitchd), "+
				"or use --ovs-datapath-type netdev", name, *local.Error)
		}
		return fmt.Errorf("integration bridge %s has no working datapath: %s", name, *local.Error)
	}
	if local.Ofport != nil && *local.Ofport == -1 {
		return fmt.Errorf("integration bridge %s has no working datapath (local port not opened)", name)
	}
	return nil
}
