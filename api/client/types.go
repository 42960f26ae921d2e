package client

// The JSON tags are the wire names, so a value marshals back to the same
// shape the agent sent (quantumctl -o json relies on that). Keys the client
// does not know are ignored, as docs/api.md asks of clients
// (Extensions).

// Network is a virtual network as the agent shows it. List views fill only
// ID; detail views add the rest; Ports only comes with GetNetwork.
type Network struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// OpStatus is UP, DOWN, PROVISIONING or UNKNOWN; v1.1 only.
	OpStatus string `json:"op-status,omitempty"`
	// Provider extension: vlan, flat, vxlan or local, the physical network
	// it rides on, and the VLAN id or VNI (0 when there is none).
	NetworkType     string `json:"network-type,omitempty"`
	PhysicalNetwork string `json:"physical-network,omitempty"`
	SegmentationID  int    `json:"segmentation-id,omitempty"`
	// MTU is what a guest on the network may send: a compute driver sets
	// the guest's interface to it (0 from an agent that predates it).
	MTU   int    `json:"mtu,omitempty"`
	Ports []Port `json:"ports,omitempty"`
}

// Port is a logical port on a network.
type Port struct {
	ID string `json:"id"`
	// State is the admin state, ACTIVE or DOWN.
	State    string `json:"state,omitempty"`
	OpStatus string `json:"op-status,omitempty"` // v1.1 only
	// Attachment is nil when nothing is plugged (and in non-detail views).
	Attachment *Attachment `json:"attachment,omitempty"`
}

// Attachment is an interface (VIF) plugged into a port.
type Attachment struct {
	ID string `json:"id"`
	// PortID is sent by the attachments list; GetAttachment fills it from
	// its arguments.
	PortID string `json:"port-id,omitempty"`
	// vif-binding extension: what the plug request named.
	Device string `json:"device,omitempty"`
	MAC    string `json:"mac,omitempty"`
	VMID   string `json:"vm-id,omitempty"`
	Host   string `json:"host,omitempty"`
	// attachment-status extension: PROVISIONING, UP, DOWN or FAILED, and
	// why when it is not UP.
	Status string `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Attachment status values (attachment-status extension).
const (
	StatusProvisioning = "PROVISIONING"
	StatusUp           = "UP"
	StatusDown         = "DOWN"
	StatusFailed       = "FAILED"
)

// Port admin states.
const (
	StateActive = "ACTIVE"
	StateDown   = "DOWN"
)

// NetworkRequest creates a network. The provider fields are optional; when
// all are empty the agent allocates a VLAN itself.
type NetworkRequest struct {
	Name            string
	NetworkType     string
	PhysicalNetwork string
	SegmentationID  int // 0: let the agent choose
}

// PlugRequest plugs an interface. Only ID is required; the rest is the
// vif-binding extension (Host defaults to the agent's own host).
type PlugRequest struct {
	ID     string
	Device string
	MAC    string
	VMID   string
	Host   string
}

// Version is one entry of GET /.
type Version struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Links  []Link `json:"links,omitempty"`
}

// Link is an OpenStack-style link.
type Link struct {
	Rel  string `json:"rel,omitempty"`
	Href string `json:"href,omitempty"`
	Type string `json:"type,omitempty"`
}

// Extension describes one API extension the agent offers.
type Extension struct {
	Name        string `json:"name"`
	Alias       string `json:"alias"`
	Description string `json:"description"`
	Namespace   string `json:"namespace"`
	Updated     string `json:"updated"`
	Links       []Link `json:"links"`
}

// Wire bodies for requests. omitempty matters: the agent rejects attributes
// it does not expect, and an absent provider field means "agent's choice".

type networkFields struct {
	Name            string `json:"name"`
	NetworkType     string `json:"network-type,omitempty"`
	PhysicalNetwork string `json:"physical-network,omitempty"`
	SegmentationID  int    `json:"segmentation-id,omitempty"`
}

type networkBody struct {
	Network networkFields `json:"network"`
}

type portFields struct {
	State string `json:"state"`
}

type portBody struct {
	Port portFields `json:"port"`
}

type plugFields struct {
	ID     string `json:"id"`
	Device string `json:"device,omitempty"`
	MAC    string `json:"mac,omitempty"`
	VMID   string `json:"vm-id,omitempty"`
	Host   string `json:"host,omitempty"`
}

type plugBody struct {
	Attachment plugFields `json:"attachment"`
}

func (r PlugRequest) body() plugBody {
	return plugBody{Attachment: plugFields(r)}
}

// normalize drops an empty attachment object ({} or null on the wire) so
// callers can test Attachment != nil.
func (p *Port) normalize() {
	if p.Attachment != nil && p.Attachment.ID == "" {
		p.Attachment = nil
	}
}

func (n *Network) normalize() {
	for i := range n.Ports {
		n.Ports[i].normalize()
	}
}
