// Package testbed builds throwaway "hypervisors" for privileged tests: an
// ovsdb-server and ovs-vswitchd (userspace datapath) inside a network
// namespace of their own, "VMs" as namespaces joined to it by veth pairs, and
// Quantum DB servers. Everything is removed through t.Cleanup, processes are
// stopped by PID, and traffic only ever goes to 198.18.0.0/15 addresses
// inside namespaces the test bed made. It is imported by tests only, so it
// may run commands (ip, ovs-vsctl, ovsdb-tool); production code must not.
//
// It knows nothing of the agent's packages.
package testbed
