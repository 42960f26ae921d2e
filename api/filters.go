package api

import (
	"net/url"
	"strings"

	"github.com/quantum-agent/quantum-agent/agent"
)

// Filters of the list calls (docs/api.md "Filters"): every value of every key
// must match (AND), exactly, except has-attachment (true/false, any case).
// An unknown key is refused rather than matching nothing.

// networkFilter is the parsed query of a network list.
type networkFilter struct {
	preds     []func(agent.Network) bool
	needPorts bool // some predicate looks at the ports
}

func (f networkFilter) match(n agent.Network) bool {
	for _, p := range f.preds {
		if !p(n) {
			return false
		}
	}
	return true
}

func parseNetworkFilter(q url.Values) (networkFilter, error) {
	var f networkFilter
	for _, key := range sortedKeys(q) {
		for _, val := range q[key] {
			pred, ports, err := networkPredicate(key, val)
			if err != nil {
				return networkFilter{}, err
			}
			f.preds = append(f.preds, pred)
			f.needPorts = f.needPorts || ports
		}
	}
	return f, nil
}

// networkPredicate returns the test for one key=value, and whether it needs
// the network's ports. The port-based keys hold when some port matches.
func networkPredicate(key, val string) (func(agent.Network) bool, bool, error) {
	switch key {
	case "name":
		return func(n agent.Network) bool { return n.Name == val }, false, nil
	case "op-status":
		return func(n agent.Network) bool { return orUnknown(n.OpStatus) == val }, false, nil
	case "port-op-status":
		return anyPort(func(p agent.Port) bool { return portOpStatus(p) == val }), true, nil
	case "port-state":
		return anyPort(func(p agent.Port) bool { return p.State == val }), true, nil
	case "attachment":
		return anyPort(func(p agent.Port) bool { return p.Attachment != nil && p.Attachment.ID == val }), true, nil
	case "port":
		return anyPort(func(p agent.Port) bool { return p.ID == val }), true, nil
	case "has-attachment":
		want, err := parseBool(key, val)
		if err != nil {
			return nil, false, err
		}
		attached := anyPort(func(p agent.Port) bool { return p.Attachment != nil })
		return func(n agent.Network) bool { return attached(n) == want }, true, nil
	}
	return nil, false, malformed("unknown filter %q", key)
}

func anyPort(pred func(agent.Port) bool) func(agent.Network) bool {
	return func(n agent.Network) bool {
		for _, p := range n.Ports {
			if pred(p) {
				return true
			}
		}
		return false
	}
}

// portFilter is the parsed query of a port list.
type portFilter []func(agent.Port) bool

func (f portFilter) match(p agent.Port) bool {
	for _, pred := range f {
		if !pred(p) {
			return false
		}
	}
	return true
}

func parsePortFilter(q url.Values) (portFilter, error) {
	var f portFilter
	for _, key := range sortedKeys(q) {
		for _, val := range q[key] {
			pred, err := portPredicate(key, val)
			if err != nil {
				return nil, err
			}
			f = append(f, pred)
		}
	}
	return f, nil
}

func portPredicate(key, val string) (func(agent.Port) bool, error) {
	switch key {
	case "state":
		return func(p agent.Port) bool { return p.State == val }, nil
	case "op-status":
		return func(p agent.Port) bool { return portOpStatus(p) == val }, nil
	case "attachment":
		return func(p agent.Port) bool { return p.Attachment != nil && p.Attachment.ID == val }, nil
	case "has-attachment":
		want, err := parseBool(key, val)
		if err != nil {
			return nil, err
		}
		return func(p agent.Port) bool { return (p.Attachment != nil) == want }, nil
	}
	return nil, malformed("unknown filter %q", key)
}

// parseBool accepts true/false in any case, as the release did.
func parseBool(key, val string) (bool, error) {
	switch strings.ToLower(val) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, malformed("filter %q must be true or false, not %q", key, val)
}
