package ovs

import (
	"context"
	"fmt"

	"slices"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

// ensureBridge creates the integration bridge, with its local internal port,
// when it is missing. An existing bridge is used as it is: its datapath type
// is never rewritten.
func (d *Datapath) ensureBridge(ctx context.Context) error {
	snap, err := d.snapshot(ctx)
	if err != nil {
		return err
	}
	if snap.bridge != nil {
		if snap.bridge.DatapathType != d.cfg.DatapathType && !(snap.bridge.DatapathType == "" && d.cfg.DatapathType == DatapathSystem) {
			d.log.Info("using existing integration bridge with its own datapath type",
				"datapath_type", snap.bridge.DatapathType, "configured", d.cfg.DatapathType)
		}
		return nil
	}
	if snap.root == nil {
		return fmt.Errorf("create integration bridge %s: Open_vSwitch table has no row", d.cfg.Bridge)
	}
	ops, err := d.createBridgeOps(snap.root)
	if err != nil {
		return fmt.Errorf("create integration bridge %s: %w", d.cfg.Bridge, err)
	}
	if _, err := d.transact(ctx, ops); err != nil {
		return fmt.Errorf("create integration bridge %s: %w", d.cfg.Bridge, err)
	}
	d.log.Info("created integration bridge", "datapath_type", d.cfg.DatapathType)
	return d.waitCache(ctx, func(s *snapshot) bool { return s.bridge != nil })
}

func (d *Datapath) createBridgeOps(root *vswitch.OpenvSwitch) ([]ovsdb.Operation, error) {
	marker := map[string]string{ownerKey: d.cfg.Host}
	iface := &vswitch.Interface{UUID: "local_iface", Name: d.cfg.Bridge, Type: "internal", ExternalIDs: marker}
	port := &vswitch.Port{UUID: "local_port", Name: d.cfg.Bridge, Interfaces: []string{iface.UUID}, ExternalIDs: marker}
	localPortVLAN(port)
	br := &vswitch.Bridge{
		UUID:         "int_bridge",
		Name:         d.cfg.Bridge,
		DatapathType: d.cfg.DatapathType,
		Ports:        []string{port.UUID},
		ExternalIDs:  marker,
	}
	var ops []ovsdb.Operation
	for _, m := range []model.Model{iface, port, br} {
		op, err := d.client.Create(m)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op...)
	}
	add, err := d.client.Where(root).Mutate(root, model.Mutation{
		Field:   &root.Bridges,
		Mutator: ovsdb.MutateOperationInsert,
		Value:   []string{br.UUID},
	})
	if err != nil {
		return nil, err
	}
	return append(ops, add...), nil
}

// warnTSO warns when the bridge uses the userspace datapath without
// userspace TSO: TCP through veth ports then moves no data at all.
func (d *Datapath) warnTSO() {
	if w := d.tsoWarning(); w != "" {
		d.log.Warn(w)
	}
}

func (d *Datapath) tsoWarning() string {
	snap, err := d.snapshot(context.Background())
	if err != nil || snap.bridge == nil || snap.root == nil {
		return ""
	}
	if snap.bridge.DatapathType != DatapathNetdev || snap.root.OtherConfig["userspace-tso-enable"] == "true" {
		return ""
	}
	return fmt.Sprintf("integration bridge %s uses the userspace (netdev) datapath but "+
		"Open_vSwitch other_config:userspace-tso-enable is not true: TCP through veth ports will stall; "+
		"set it and restart ovs-vswitchd", d.cfg.Bridge)
}

// Warnings lists what is wrong but does not stop wiring, for the agent's
// readiness report and status: a netdev bridge without userspace TSO, and
// owned ports left alone because another Quantum DB wired them.
func (d *Datapath) Warnings() []string {
	var out []string
	if w := d.tsoWarning(); w != "" {
		out = append(out, w)
	}
	if n := d.otherDBPorts.Load(); n > 0 {
		out = append(out, fmt.Sprintf("%d ports on bridge %s were wired from another Quantum DB than %s and are left "+
			"untouched; delete them by hand (external_ids:%s) if that database is gone for good", n, d.cfg.Bridge, d.cfg.QuantumDBID, dbIDKey))
	}
	return out
}

// localPortVLAN puts the integration bridge's own internal port on the dead
// VLAN, protected: as a trunk it would receive every network's broadcasts,
// and unprotected it would reach the quarantined ports on VLAN 4095.
func localPortVLAN(port *vswitch.Port) {
	tag, mode := agent.DeadVLAN, vswitch.PortVLANModeAccess
	port.Tag, port.VLANMode, port.Trunks, port.Protected = &tag, &mode, []int{agent.DeadVLAN}, true
}

// planLocalPort heals the VLAN settings of the integration bridge's own
// port (localPortVLAN), whoever made the bridge: the integration bridge is
// the agent's, and its local port is part of its isolation.
func (d *Datapath) planLocalPort(p *plan, snap *snapshot) error {
	port := snap.portByName[d.cfg.Bridge]
	if port == nil || !snap.onBridge[port.UUID] {
		return nil // vswitchd has not made it (yet)
	}
	want := &vswitch.Port{UUID: port.UUID}
	localPortVLAN(want)
	if sameInt(port.Tag, want.Tag) && sameMode(port.VLANMode, want.VLANMode) &&
		slices.Equal(port.Trunks, want.Trunks) && port.Protected == want.Protected {
		return nil
	}
	ops, err := d.client.Where(want).Update(want, &want.Tag, &want.VLANMode, &want.Trunks, &want.Protected)
	if err != nil {
		return fmt.Errorf("update local port of bridge %s: %w", d.cfg.Bridge, err)
	}
	p.ops = append(p.ops, ops...)
	p.updated = append(p.updated, d.cfg.Bridge)
	p.reconfigure = true
	return nil
}
