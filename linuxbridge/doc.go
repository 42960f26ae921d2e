// Package linuxbridge is the netlink datapath: it realises the agent's wired
// ports as Linux bridges, one per network ("brq" + the first 11 characters
// of the network id, as Neutron's linuxbridge agent names them), with the
// network's uplink (a VXLAN device, a VLAN sub-interface of the mapped NIC,
// or the mapped NIC itself for flat networks) and the VMs' tap devices as
// ports.
//
// It talks to the kernel through one netlink handle bound to a network
// namespace and never runs commands. It only creates, changes or deletes
// links that carry its ownership marker (the link alias
// "quantum-agent:<host>:<Quantum DB id>"; older agents wrote
// "quantum-agent:<host>"); taps belong to the compute driver and are only
// enslaved, released, sized and set up or down. Links marked with another
// Quantum DB's id, and the taps on such bridges, are never deleted or
// released (see Config.QuantumDBID).
//
// It knows the agent's model (agent.WiredPort) and nothing of the API, the
// Quantum DB or Open vSwitch.
package linuxbridge
