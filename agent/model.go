package agent

import (
	"sort"
	"time"
)

// Admin states of a port (docs/api.md, Concepts: exactly ACTIVE or DOWN, default DOWN).
const (
	PortActive = "ACTIVE"
	PortDown   = "DOWN"
)

// Operational states, shared by networks, ports (v1.1 op-status) and
// attachments (the attachment-status extension, which adds FAILED).
const (
	StatusUp           = "UP"
	StatusDown         = "DOWN"
	StatusProvisioning = "PROVISIONING"
	StatusUnknown      = "UNKNOWN"
	StatusFailed       = "FAILED"
)

// Network segment types (the provider extension).
const (
	NetworkTypeVLAN  = "vlan"
	NetworkTypeFlat  = "flat"
	NetworkTypeVXLAN = "vxlan"
	NetworkTypeLocal = "local"
)

// Network is a tenant's layer-2 network as the API shows it.
type Network struct {
	ID       string
	Tenant   string
	Name     string
	OpStatus string
	Segment  Segment
	// MTU is what a guest on the network may send (the provider extension's
	// mtu): computed from Segment.Type and the agent's underlay MTU, not
	// stored (see GuestMTU).
	MTU   int
	Ports []Port // filled by the calls that say so

	created int64 // for ordering lists
}

// Segment says how a network is carried: its type, physical network and
// segmentation id (VLAN id or VNI). Local networks have neither.
type Segment struct {
	Type            string
	PhysicalNetwork string
	SegmentationID  int
}

// Port is a logical port of a network.
type Port struct {
	ID         string
	NetworkID  string
	State      string // admin state: PortActive or PortDown
	OpStatus   string
	Attachment *Attachment // nil when nothing is plugged

	created int64
}

// Attachment is an interface (a VM's VIF) plugged into a port.
type Attachment struct {
	ID        string // the interface id, unique across the whole database
	PortID    string
	NetworkID string
	Host      string
	Device    string // host device name, e.g. tap1234
	MAC       string
	VMID      string
	Status    string // StatusProvisioning, StatusUp, StatusDown or StatusFailed
	Reason    string // why the status is what it is, for people

	created int64
}

// NetworkSpec is what a create-network request asks for. A zero Segment asks
// the agent to allocate one from --network-vlan-ranges.
type NetworkSpec struct {
	Name    string
	Segment Segment
}

// AttachmentSpec is what a plug request asks for. Only ID is required; Host
// defaults to the agent's own --host.
type AttachmentSpec struct {
	ID     string
	Device string
	MAC    string
	VMID   string
	Host   string
}

// PortOpStatus derives a port's op-status from its admin state and its
// attachment: it is not stored, so it can never disagree with them.
func PortOpStatus(state string, att *Attachment) string {
	switch {
	case state != PortActive || att == nil:
		return StatusDown
	case att.Status == StatusFailed:
		return StatusDown
	case att.Status == "":
		return StatusProvisioning
	default:
		return att.Status
	}
}

// createdAt stamps a new row; lists are in creation order, as users expect
// (and as the released Quantum answered).
func createdAt() int { return int(time.Now().UnixNano()) }

// sortByCreation orders items by creation time, then id for a stable order.
func sortByCreation[T any](items []T, key func(T) (int64, string)) {
	sort.SliceStable(items, func(i, j int) bool {
		ti, idi := key(items[i])
		tj, idj := key(items[j])
		if ti != tj {
			return ti < tj
		}
		return idi < idj
	})
}
