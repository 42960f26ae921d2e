package api

import "github.com/quantum-agent/quantum-agent/agent"

// Views: one struct per shape of body, tagged for both codecs. In XML, id,
// name, state, op-status and extension scalars are attributes (as
// released); lists are wrapper elements (xmlList).

type idView struct {
	ID string `json:"id" xml:"id,attr"`
}

type networkView struct {
	ID       string `json:"id" xml:"id,attr"`
	Name     string `json:"name" xml:"name,attr"`
	OpStatus string `json:"op-status,omitempty" xml:"op-status,attr,omitempty"`
	// provider extension
	NetworkType     string `json:"network-type,omitempty" xml:"network-type,attr,omitempty"`
	PhysicalNetwork string `json:"physical-network,omitempty" xml:"physical-network,attr,omitempty"`
	SegmentationID  int    `json:"segmentation-id,omitempty" xml:"segmentation-id,attr,omitempty"`
	// MTU is read-only: computed by the agent, never taken from a body.
	MTU int `json:"mtu,omitempty" xml:"mtu,attr,omitempty"`

	Ports *xmlList[portView] `json:"ports,omitempty" xml:"ports,omitempty"`
}

type portView struct {
	ID         string         `json:"id" xml:"id,attr"`
	State      string         `json:"state" xml:"state,attr"`
	OpStatus   string         `json:"op-status,omitempty" xml:"op-status,attr,omitempty"`
	Attachment *attachmentRef `json:"attachment,omitempty" xml:"attachment,omitempty"`
}

// attachmentRef is an attachment inside a port view: its id and (the
// attachment-status extension) status and reason.
type attachmentRef struct {
	ID     string `json:"id" xml:"id,attr"`
	Status string `json:"status,omitempty" xml:"status,attr,omitempty"`
	Reason string `json:"reason,omitempty" xml:"reason,attr,omitempty"`
}

// attachmentView is show-attachment: empty ({}) when nothing is plugged;
// vif-binding fields echoed when set.
type attachmentView struct {
	ID     string `json:"id,omitempty" xml:"id,attr,omitempty"`
	Status string `json:"status,omitempty" xml:"status,attr,omitempty"`
	Reason string `json:"reason,omitempty" xml:"reason,attr,omitempty"`
	Device string `json:"device,omitempty" xml:"device,attr,omitempty"`
	MAC    string `json:"mac,omitempty" xml:"mac,attr,omitempty"`
	VMID   string `json:"vm-id,omitempty" xml:"vm-id,attr,omitempty"`
	Host   string `json:"host,omitempty" xml:"host,attr,omitempty"`
}

// attachmentItem is one entry of the attachments extension's list.
type attachmentItem struct {
	ID     string `json:"id" xml:"id,attr"`
	PortID string `json:"port-id" xml:"port-id,attr"`
	Status string `json:"status,omitempty" xml:"status,attr,omitempty"`
	Reason string `json:"reason,omitempty" xml:"reason,attr,omitempty"`
}

// withOpStatus says whether op-status is shown: only /v1.1 has it.
func withOpStatus(version string) bool { return version == v11 }

func networkRefs(nets []agent.Network) document {
	items := make([]idView, len(nets))
	for i, n := range nets {
		items[i] = idView{ID: n.ID}
	}
	return document{key: "networks", value: listOf("network", items)}
}

func networkDetails(nets []agent.Network, version string) document {
	items := make([]networkView, len(nets))
	for i, n := range nets {
		items[i] = newNetworkView(n, version, false)
	}
	return document{key: "networks", value: listOf("network", items)}
}

// newNetworkView is the show (and list-detail) view; withPorts adds the
// ports of show-detail.
func newNetworkView(n agent.Network, version string, withPorts bool) networkView {
	v := networkView{
		ID:              n.ID,
		Name:            n.Name,
		NetworkType:     n.Segment.Type,
		PhysicalNetwork: n.Segment.PhysicalNetwork,
		SegmentationID:  n.Segment.SegmentationID,
		MTU:             n.MTU,
	}
	if withOpStatus(version) {
		v.OpStatus = orUnknown(n.OpStatus)
	}
	if withPorts {
		ports := make([]portView, len(n.Ports))
		for i, p := range n.Ports {
			ports[i] = newPortView(p, version, true)
		}
		v.Ports = listOf("port", ports)
	}
	return v
}

func portRefs(ports []agent.Port) document {
	items := make([]idView, len(ports))
	for i, p := range ports {
		items[i] = idView{ID: p.ID}
	}
	return document{key: "ports", value: listOf("port", items)}
}

func portDetails(ports []agent.Port, version string) document {
	items := make([]portView, len(ports))
	for i, p := range ports {
		items[i] = newPortView(p, version, true)
	}
	return document{key: "ports", value: listOf("port", items)}
}

// newPortView is the show view; withAttachment adds the detail view's
// attachment (only when one is plugged).
func newPortView(p agent.Port, version string, withAttachment bool) portView {
	v := portView{ID: p.ID, State: p.State}
	if withOpStatus(version) {
		v.OpStatus = portOpStatus(p)
	}
	if withAttachment && p.Attachment != nil {
		v.Attachment = &attachmentRef{ID: p.Attachment.ID, Status: p.Attachment.Status, Reason: p.Attachment.Reason}
	}
	return v
}

// portOpStatus prefers what the agent reports and derives it otherwise, so
// the view never shows an empty op-status.
func portOpStatus(p agent.Port) string {
	if p.OpStatus != "" {
		return p.OpStatus
	}
	return agent.PortOpStatus(p.State, p.Attachment)
}

func orUnknown(s string) string {
	if s == "" {
		return agent.StatusUnknown
	}
	return s
}

func newAttachmentView(a *agent.Attachment) attachmentView {
	if a == nil {
		return attachmentView{}
	}
	return attachmentView{ID: a.ID, Status: a.Status, Reason: a.Reason,
		Device: a.Device, MAC: a.MAC, VMID: a.VMID, Host: a.Host}
}

func attachmentItems(atts []agent.Attachment) document {
	items := make([]attachmentItem, len(atts))
	for i, a := range atts {
		items[i] = attachmentItem{ID: a.ID, PortID: a.PortID, Status: a.Status, Reason: a.Reason}
	}
	return document{key: "attachments", value: listOf("attachment", items)}
}
