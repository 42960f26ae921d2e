package agent

import (
	"context"
	"fmt"
	"net/netip"

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
