package ovs

import "github.com/quantum-agent/quantum-agent/internal/dbconn"

// Connected reports whether the Open_vSwitch database connection is up and
// answered its last probe (for readiness, the connection metrics and
// `quantumctl status`; Ready says more but costs a snapshot).
func (d *Datapath) Connected() bool { return d.conn.Healthy() }

// Health is "" when Connected, else why not.
func (d *Datapath) Health() string { return d.conn.Reason() }

// ConnStats are the connection supervisor's counters (for metrics).
func (d *Datapath) ConnStats() dbconn.Stats { return d.conn.Stats() }
