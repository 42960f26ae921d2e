package ovs

// Connected reports whether the Open_vSwitch database connection is up now
// (for the agent's connection metrics and `quantumctl status`; Ready says
// more but costs a snapshot).
// libovsdb v0.8.1 leaves Connected() true while it reconnects after the
// server went away; CurrentEndpoint is "" then, so both are checked.
func (d *Datapath) Connected() bool { return d.client.Connected() && d.client.CurrentEndpoint() != "" }
