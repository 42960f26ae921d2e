// Package bench holds the datapath benchmarks of issue 3 ("Speed"): the
// built quantum-agent binary wiring N pre-created devices into br-int of a
// throwaway userspace-OVS hypervisor, side by side with what per-port
// tooling does (one ovs-vsctl per port) and with the floor (one ovs-vsctl
// transaction holding every port); unplug; single-attach latency; agent
// memory with 10,000 ports; restart time with 5,000 attached ports.
//
// BenchmarkFleet and BenchmarkReadLatency are issue 10's ("Fleet scale",
// make bench-fleet): K Linux-bridge agents on a 3-member Raft Quantum DB
// with other hosts' attachments preloaded, directly and behind OVSDB relays,
// this tree's agent and BENCH_AGENT_BIN side by side.
//
// Everything is in Benchmark functions of the package's tests: they need
// root and Open vSwitch, skip without them, and never run under a plain
// `go test ./...`. `make bench` runs them once each (-benchtime 1x) and
// prints a summary with the ratios; BENCH_REPORT=FILE also writes it there.
//
// It imports the agent only through its binary and api/client, as a
// compute driver would.
package bench
