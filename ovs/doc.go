// Package ovs is the Open vSwitch datapath: it implements agent.Datapath by
// wiring host devices into the integration bridge through the Open_vSwitch
// database, using libovsdb only (it never shells out to ovs-vsctl).
//
// It knows the Open_vSwitch schema and agent's wiring contract (WiredPort,
// PortState); it must not know the Quantum DB, the API or the reconciler.
// It only ever modifies ports that carry its ownership marker
// (external_ids:quantum-agent-owner=<host>).
package ovs
