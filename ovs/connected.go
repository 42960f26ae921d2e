package ovs

// Connected reports whether the Open_vSwitch database connection is up now
// (for the agent's connection metrics and `quantumctl status`; Ready says
// more but costs a snapshot).
func (d *Datapath) Connected() bool { return d.client.Connected() }
