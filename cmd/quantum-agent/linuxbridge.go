package main

import (
	"context"
	"fmt"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/linuxbridge"
)

// startLinuxBridge builds the netlink datapath in the agent's own network
// namespace (the hypervisor's: systemd or `ip netns exec` put it there);
// quantumDBID marks the links it makes as this Quantum DB's (see
// linuxbridge.Config.QuantumDBID).
func (d *daemon) startLinuxBridge(ctx context.Context, quantumDBID string) (agent.Datapath, error) {
	dp, err := linuxbridge.New(linuxbridge.Config{
		Host:              d.cfg.Host,
		QuantumDBID:       quantumDBID,
		InterfaceMappings: d.cfg.InterfaceMappings,
		VXLANLocalIP:      d.cfg.VXLANLocalIP,
		// The links get the MTU the networks show (the provider extension).
		MTU:      agent.GuestMTU(agent.NetworkTypeVLAN, d.cfg.UnderlayMTU),
		VXLANMTU: agent.GuestMTU(agent.NetworkTypeVXLAN, d.cfg.UnderlayMTU),
		Panics:   d.panics,
	}, d.log.With("component", "linuxbridge"))
	if err != nil {
		return nil, err
	}
	if err := dp.Start(ctx); err != nil {
		_ = dp.Close()
		return nil, fmt.Errorf("start the linuxbridge datapath: %w", err)
	}
	return dp, nil
}

// registerChassis writes this host's Chassis row, so that the agents of
// other hosts know where VXLAN tunnels to it end.
func (d *daemon) registerChassis(ctx context.Context, store *agent.Store) error {
	c := agent.Chassis{Name: d.cfg.Host, Datapath: d.cfg.Datapath}
	if d.cfg.VXLANLocalIP.IsValid() {
		c.VTEPIP = d.cfg.VXLANLocalIP.String()
	}
	if err := store.RegisterChassis(ctx, c); err != nil {
		return fmt.Errorf("register host %s in the Quantum DB: %w", d.cfg.Host, err)
	}
	return nil
}
