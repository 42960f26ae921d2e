package agent

import (
	"fmt"
	"sort"
	"strings"
)

// Checks of requests before they reach the Quantum DB, each refusal naming
// the field (store_text.go's checkText is the last guard behind these).

// validSegment checks the segment a provider create-network asks for.
func (a *Agent) validSegment(seg Segment) error {
	bad := func(format string, args ...any) error { return newError(KindMalformed, nil, format, args...) }
	switch seg.Type {
	case NetworkTypeVLAN:
		if seg.SegmentationID < 1 || seg.SegmentationID > 4094 {
			return bad("segmentation-id of a vlan network must be 1..4094, not %d", seg.SegmentationID)
		}
		if seg.PhysicalNetwork == "" {
			return bad("a vlan network needs a physical-network")
		}
	case NetworkTypeFlat:
		if seg.PhysicalNetwork == "" || seg.SegmentationID != 0 {
			return bad("a flat network needs a physical-network and no segmentation-id")
		}
	case NetworkTypeVXLAN:
		if seg.SegmentationID < 1 || seg.SegmentationID > 16777215 || seg.PhysicalNetwork != "" {
			return bad("a vxlan network needs a segmentation-id (VNI) 1..16777215 and no physical-network")
		}
	case NetworkTypeLocal:
		if seg.PhysicalNetwork != "" || seg.SegmentationID != 0 {
			return bad("a local network takes no physical-network or segmentation-id")
		}
	case "":
		return bad("network-type is required when physical-network or segmentation-id is given")
	default:
		return bad("network-type must be one of vlan, flat, vxlan, local, not %q", seg.Type)
	}
	if seg.PhysicalNetwork != "" && !a.knowsPhysnet(seg.PhysicalNetwork) {
		return bad("physical network %q is not configured on this agent (known: %s)", seg.PhysicalNetwork, strings.Join(a.physnets(), ", "))
	}
	return nil
}

func (a *Agent) physnets() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range append(a.pool.physnets(), a.cfg.PhysicalNetworks...) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func (a *Agent) knowsPhysnet(name string) bool {
	for _, p := range a.physnets() {
		if p == name {
			return true
		}
	}
	return false
}

const maxNameLen = 255

func validName(what, name string) error {
	if len(name) > maxNameLen {
		return newError(KindMalformed, nil, "%s is longer than %d bytes", what, maxNameLen)
	}
	return nil
}

// validState normalises an admin state; "" means def ("" def: required).
func validState(state, def string) (string, error) {
	if state == "" && def != "" {
		return def, nil
	}
	up := strings.ToUpper(state)
	if up != PortActive && up != PortDown {
		return "", newError(KindStateInvalid, nil, "Invalid port state %q: must be ACTIVE or DOWN", state)
	}
	return up, nil
}

// validAttachment checks a plug request and fills in defaults: the host is
// this agent's, and the device defaults to Nova's naming, "tap" + the first
// 11 characters of the interface id.
func (a *Agent) validAttachment(spec AttachmentSpec) (AttachmentSpec, error) {
	bad := func(format string, args ...any) error { return newError(KindMalformed, nil, format, args...) }
	if strings.TrimSpace(spec.ID) == "" {
		return spec, bad("attachment id is required")
	}
	if len(spec.ID) > maxNameLen {
		return spec, bad("attachment id is longer than %d bytes", maxNameLen)
	}
	if spec.Host == "" {
		spec.Host = a.cfg.Host
	}
	if spec.Device == "" {
		spec.Device = defaultDevice(spec.ID)
	}
	if err := validDeviceName(spec.Device); err != nil {
		return spec, bad("%v", err)
	}
	return spec, nil
}

func defaultDevice(ifaceID string) string {
	id := ifaceID
	if len(id) > 11 {
		id = id[:11]
	}
	return "tap" + id
}

// validDeviceName applies the kernel's rules for interface names.
func validDeviceName(name string) error {
	if len(name) == 0 || len(name) > 15 {
		return fmt.Errorf("device name %q must be 1 to 15 bytes", name)
	}
	if name == "." || name == ".." {
		return fmt.Errorf("device name %q is not allowed", name)
	}
	for _, r := range name {
		if r == '/' || r == ':' || r <= ' ' || r > '~' {
			return fmt.Errorf("device name %q has a character not allowed in an interface name", name)
		}
	}
	return nil
}
