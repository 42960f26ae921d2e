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
	var rows []qdb.Chassis
	err := s.client.WhereCache(func(r *qdb.Chassis) bool { return r.Name == c.Name }).List(ctx, &rows)
	if err != nil {
		return unavailable(fmt.Errorf("read chassis %s: %w", c.Name, err))
	}
	row := &qdb.Chassis{Name: c.Name, VtepIP: c.VTEPIP, Datapath: c.Datapath}
	if len(rows) > 0 {
		if rows[0].VtepIP == c.VTEPIP && rows[0].Datapath == c.Datapath {
			return nil
		}
		row.UUID = rows[0].UUID
		ops, err := s.client.Where(row).Update(row, &row.VtepIP, &row.Datapath)
		if err != nil {
			return fmt.Errorf("build update of chassis %s: %w", c.Name, err)
		}
		_, err = s.transact(ctx, ops)
		return err
	}
	ops, err := s.client.Create(row)
	if err != nil {
		return fmt.Errorf("build insert of chassis %s: %w", c.Name, err)
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
	var chassis []qdb.Chassis
	if err := r.store.client.List(ctx, &chassis); err != nil {
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
