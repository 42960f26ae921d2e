package agent

import (
	"context"

	"github.com/quantum-agent/quantum-agent/internal/dbconn"
)

// Datapath is what the reconciler drives: OVS (ovs/) or Linux bridges
// (linuxbridge/). It is level-triggered: Sync is handed the whole desired
// state of this host each time and makes the datapath match it.
type Datapath interface {
	// Start connects to the datapath and prepares it (e.g. ensures the
	// integration bridge). It returns once the datapath's state is known.
	Start(ctx context.Context) error
	// Sync makes the datapath hold exactly the given wired ports among those
	// it owns (creating, updating and removing in as few transactions as it
	// can) and reports the observed state of each desired port.
	Sync(ctx context.Context, desired []WiredPort) ([]PortState, error)
	// Changes signals (without payload) that actual state may have changed,
	// so the reconciler should run Sync again.
	Changes() <-chan struct{}
	// Ready returns nil when the datapath can be wired into, else why not.
	Ready() error
	// Warnings are problems that do not stop wiring but need an operator
	// (e.g. a netdev bridge without userspace TSO); none: nil.
	Warnings() []string
	// Close releases connections; it does not unwire anything.
	Close() error
}

// ConnectionReporter is implemented by a datapath that has a database
// connection of its own (OVS: the Open_vSwitch DB), for readiness, status
// and metrics.
type ConnectionReporter interface {
	// Connected: the connection is up and the server answered its last probe.
	Connected() bool
	// Health is "" when Connected, else why not.
	Health() string
	ConnStats() dbconn.Stats
}

// DeadVLAN is the tag a port gets while it must pass no traffic (admin DOWN
// or not yet bound): VLAN 4095 is reserved and never forwarded.
const DeadVLAN = 4095

// WiredPort is one attachment as the datapath must realise it.
type WiredPort struct {
	AttachmentID string // interface id (iface-id in OVS external_ids)
	PortID       string // Quantum port id
	NetworkID    string
	Device       string // host device to plug, e.g. tap1234
	MAC          string
	VMID         string
	Segment      Segment
	// VLAN is what the Quantum DB alone says of the port's tag: the
	// segmentation id of a vlan network, DeadVLAN when AdminUp is false, 0
	// otherwise. No datapath wires by it: the OVS one picks each network's
	// local VLAN per host itself (ovs/localvlan.go) and takes only AdminUp
	// for DeadVLAN; the Linux-bridge one reads Segment. It stays for the
	// tests (and fakes) that describe a port by it.
	VLAN    int
	AdminUp bool // the port's admin state is ACTIVE
	// Peers are the VTEP addresses of the other hosts with attachments on
	// the same network (vxlan networks only; from the Chassis table): where
	// a tunnel floods broadcast and unknown unicast.
	Peers []string
}

// PortState is what the datapath observes of one WiredPort.
type PortState struct {
	AttachmentID string
	Status       string // StatusProvisioning, StatusUp, StatusDown or StatusFailed
	Reason       string
}
