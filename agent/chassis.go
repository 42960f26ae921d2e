package agent

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// Chassis is one hypervisor as the Quantum DB knows it. Each agent writes
// its own row at start; the others read it to know where tunnels to that
// host end (the VXLAN peers of WiredPort.Peers).
type Chassis struct {
	Name     string // the agent's --host
	VTEPIP   string // its VXLAN local address; empty when it has none
	Datapath string // ovs or linuxbridge, for operators
}

// RegisterChassis records this host's row, creating or updating it; a row
// that is already right is left untouched (no write at every restart).
func (s *Store) RegisterChassis(ctx context.Context, c Chassis) error {
	if c.Name == "" {
		return fmt.Errorf("register chassis: no host name")
	}
	if c.VTEPIP != "" {
		if _, err := netip.ParseAddr(c.VTEPIP); err != nil {
			return fmt.Errorf("register chassis %s: VTEP address: %w", c.Name, err)
		}
	}
	have, err := s.chassisNamed(ctx, c.Name)
	if err != nil {
		return err
	}
	row := &qdb.Chassis{Name: c.Name, VtepIP: c.VTEPIP, Datapath: c.Datapath}
	if have != nil {
		if have.VtepIP == c.VTEPIP && have.Datapath == c.Datapath {
			return nil
		}
		row.UUID = have.UUID
		ops, err := s.updateChassisOps(nil, row)
		if err != nil {
			return err
		}
		_, err = s.transact(ctx, ops)
		return err
	}
	ops, err := s.insertChassisOps(nil, row)
	if err != nil {
		return err
	}
	if _, err := s.transact(ctx, ops); err != nil {
		return fmt.Errorf("register chassis %s: %w", c.Name, err)
	}
	return nil
}

// fillPeers sets the Peers of this host's VXLAN ports: the VTEPs of the
// other hosts that have attachments on the same network. Hosts without a
// Chassis row or VTEP address are left out (they cannot terminate tunnels).
func (r *Reconciler) fillPeers(ctx context.Context, snap snapshot, desired []WiredPort) {
	chassis, err := r.store.listChassis(ctx)
	if err != nil {
		r.log.Warn("cannot read Chassis rows; VXLAN ports get no peers this pass", "err", err)
		return
	}
	vtep := make(map[string]string, len(chassis))
	for _, c := range chassis {
		vtep[c.Name] = c.VtepIP
	}
	peers := map[string][]string{} // network -> VTEPs of other hosts
	for _, a := range snap.attachments {
		if ip := vtep[a.Host]; a.Host != r.host && ip != "" && ip != vtep[r.host] {
			peers[a.Network] = append(peers[a.Network], ip)
		}
	}
	for n, ips := range peers {
		slices.Sort(ips)
		peers[n] = slices.Compact(ips)
	}
	for i := range desired {
		if desired[i].Segment.Type == NetworkTypeVXLAN {
			desired[i].Peers = peers[desired[i].NetworkID]
		}
	}
}
