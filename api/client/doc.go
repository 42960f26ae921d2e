// Package client is a typed Go client for the Quantum network API (v1.0 and
// v1.1) that quantum-agent serves over HTTP on a Unix socket. Compute drivers
// and quantumctl use it; it speaks JSON only.
//
// It knows the wire contract (docs/api.md and docs/wire-extensions.md) and nothing
// of the agent's internals: it imports no other package of this module, so a
// compute driver can vendor it alone.
//
// Faults the agent returns become *Fault values, which match the exported
// sentinels (ErrNetworkNotFound, ErrPortInUse, ...) with errors.Is whatever API
// version produced them.
package client
