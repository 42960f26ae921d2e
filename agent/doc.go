// Package agent is the heart of quantum-agent: the model (networks, ports,
// attachments), the store that keeps them in the Quantum DB (an OVSDB database
// reached through libovsdb), and the reconciler that makes a Datapath match it.
//
// It knows no HTTP (that is api/) and no datapath technology (that is ovs/ and
// linuxbridge/, behind the Datapath interface declared here).
package agent
