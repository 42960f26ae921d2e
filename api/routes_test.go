package api

import (
	"net/http"
	"testing"
)

// tclient talks to a handler in one version and one format, and checks
// every reply is in that format (and, in XML, the version's namespace).
type tclient struct {
	t      *testing.T
	h      http.Handler
	ver    string
	f      format
	tenant string
}

func (c tclient) do(method, rel, body string) response {
	c.t.Helper()
	ct := c.f.contentType()
	hdr := []string{"Accept", ct}
	if body != "" {
		hdr = append(hdr, "Content-Type", ct)
	}
	r := do(c.t, c.h, method, "/"+c.ver+"/tenants/"+c.tenant+rel, body, hdr...)
	if r.raw != "" {
		if got := r.header.Get("Content-Type"); got != ct {
			c.t.Errorf("%s %s: Content-Type %q, want %q", method, rel, got, ct)
		}
		if want := "http://openstack.org/quantum/api/" + c.ver; c.f == formatXML && r.ns != want {
			c.t.Errorf("%s %s: XML namespace %q, want %q", method, rel, r.ns, want)
		}
	}
	return r
}

// expect fails unless r has the status.
func expect(t *testing.T, r response, code int) response {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d; body %s", r.code, code, r.raw)
	}
	return r
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// TestRoutes walks every route of docs/api.md in each version and format.
func TestRoutes(t *testing.T) {
	for _, ver := range []string{v10, v11} {
		for _, f := range []format{formatJSON, formatXML} {
			t.Run(ver+"/"+formatName(f), func(t *testing.T) {
				c := tclient{t: t, h: testHandler(t, newBackend(t)), ver: ver, f: f, tenant: "tenant1"}
				walkRoutes(t, c)
			})
		}
	}
}

func walkRoutes(t *testing.T, c tclient) {
	created := http.StatusAccepted
	if c.ver == v10 {
		created = http.StatusOK
	}
	v11 := c.ver == v11

	// networks
	eq(t, "empty list", expect(t, c.do("GET", "/networks", ""), 200).len("networks"), 0)
	r := expect(t, c.do("POST", "/networks", reqBody(c.f, "network", map[string]any{"name": "net1"})), created)
	net1 := r.str("network.id")
	eq(t, "create reply keys", len(r.get("network").(map[string]any)), 1)
	r = expect(t, c.do("POST", "/networks", reqBody(c.f, "network", map[string]any{
		"name": "net2", "network-type": "vlan", "physical-network": "physnet2", "segmentation-id": 42})), created)
	net2 := r.str("network.id")

	r = expect(t, c.do("GET", "/networks", ""), 200)
	eq(t, "list", fmtSlice(r.ids("networks")), fmtSlice([]string{net1, net2}))
	eq(t, "list item keys", len(r.get("networks.0").(map[string]any)), 1)

	r = expect(t, c.do("GET", "/networks/detail", ""), 200)
	eq(t, "detail name", r.str("networks.0.name"), "net1")
	eq(t, "detail op-status shown", r.has("networks.0.op-status"), v11)
	eq(t, "provider type", r.str("networks.1.network-type"), "vlan")
	eq(t, "provider physnet", r.str("networks.1.physical-network"), "physnet2")
	eq(t, "provider segmentation id", r.str("networks.1.segmentation-id"), "42")
	eq(t, "provider mtu", r.str("networks.1.mtu"), "1500")

	r = expect(t, c.do("GET", "/networks/"+net1, ""), 200)
	eq(t, "show id", r.str("network.id"), net1)
	eq(t, "show name", r.str("network.name"), "net1")
	eq(t, "show op-status shown", r.has("network.op-status"), v11)
	eq(t, "show has no ports", r.has("network.ports"), false)
	eq(t, "show mtu", r.str("network.mtu"), "1500")

	expect(t, c.do("PUT", "/networks/"+net1, reqBody(c.f, "network", map[string]any{"name": "renamed"})), 204)
	eq(t, "renamed", expect(t, c.do("GET", "/networks/"+net1, ""), 200).str("network.name"), "renamed")

	// ports
	base := "/networks/" + net1 + "/ports"
	p1 := expect(t, c.do("POST", base, ""), created).str("port.id")
	p2 := expect(t, c.do("POST", base, reqBody(c.f, "port", map[string]any{"state": "active"})), created).str("port.id")
	eq(t, "ports", fmtSlice(expect(t, c.do("GET", base, ""), 200).ids("ports")), fmtSlice([]string{p1, p2}))
	r = expect(t, c.do("GET", base+"/detail", ""), 200)
	eq(t, "default state", r.str("ports.0.state"), "DOWN")
	eq(t, "requested state", r.str("ports.1.state"), "ACTIVE")
	eq(t, "port op-status shown", r.has("ports.0.op-status"), v11)

	r = expect(t, c.do("GET", base+"/"+p1, ""), 200)
	eq(t, "port id", r.str("port.id"), p1)
	eq(t, "port state", r.str("port.state"), "DOWN")
	eq(t, "port show op-status", r.has("port.op-status"), v11)
	expect(t, c.do("PUT", base+"/"+p1, reqBody(c.f, "port", map[string]any{"state": "ACTIVE"})), 204)
	eq(t, "updated state", expect(t, c.do("GET", base+"/"+p1, ""), 200).str("port.state"), "ACTIVE")

	// attachment
	att := base + "/" + p1 + "/attachment"
	eq(t, "empty attachment", len(expect(t, c.do("GET", att, ""), 200).get("attachment").(map[string]any)), 0)
	expect(t, c.do("PUT", att, reqBody(c.f, "attachment", map[string]any{
		"id": "vif-1", "device": "tap1", "mac": "fa:16:3e:00:00:01", "vm-id": "vm-1"})), 204)
	r = expect(t, c.do("GET", att, ""), 200)
	eq(t, "attachment id", r.str("attachment.id"), "vif-1")
	eq(t, "attachment device", r.str("attachment.device"), "tap1")
	eq(t, "attachment mac", r.str("attachment.mac"), "fa:16:3e:00:00:01")
	eq(t, "attachment vm", r.str("attachment.vm-id"), "vm-1")
	eq(t, "attachment host", r.str("attachment.host"), "hv-test")
	eq(t, "attachment status", r.str("attachment.status"), "PROVISIONING")

	r = expect(t, c.do("GET", base+"/"+p1+"/detail", ""), 200)
	eq(t, "port detail attachment", r.str("port.attachment.id"), "vif-1")
	eq(t, "port show without attachment", expect(t, c.do("GET", base+"/"+p1, ""), 200).has("port.attachment"), false)
	r = expect(t, c.do("GET", "/networks/"+net1+"/detail", ""), 200)
	eq(t, "network detail ports", r.len("network.ports"), 2)
	eq(t, "network detail attachment", r.str("network.ports.0.attachment.id"), "vif-1")
	eq(t, "network detail unplugged port", r.has("network.ports.1.attachment"), false)
	eq(t, "network detail port op-status", r.has("network.ports.0.op-status"), v11)

	// attachments extension
	r = expect(t, c.do("GET", "/networks/"+net1+"/attachments", ""), 200)
	eq(t, "attachments id", r.str("attachments.0.id"), "vif-1")
	eq(t, "attachments port", r.str("attachments.0.port-id"), p1)
	eq(t, "attachments status", r.str("attachments.0.status"), "PROVISIONING")
	r = expect(t, c.do("POST", "/networks/"+net1+"/attachments", reqBody(c.f, "attachment", map[string]any{"id": "vif-2"})), created)
	eq(t, "plugged into the free active port", r.str("port.id"), p2)
	eq(t, "plugged port state", r.str("port.state"), "ACTIVE")
	eq(t, "plugged port attachment", r.str("port.attachment.id"), "vif-2")

	// unplug and delete
	expect(t, c.do("DELETE", att, ""), 204)
	expect(t, c.do("DELETE", att, ""), 204) // no-op when empty
	eq(t, "unplugged", expect(t, c.do("GET", att, ""), 200).str("attachment.id"), "")
	expect(t, c.do("DELETE", base+"/"+p1, ""), 204)
	expect(t, c.do("GET", base+"/"+p1, ""), map[bool]int{true: 404, false: 430}[v11])
	expect(t, c.do("DELETE", base+"/"+p2+"/attachment", ""), 204)
	expect(t, c.do("DELETE", "/networks/"+net1, ""), 204)
	expect(t, c.do("GET", "/networks/"+net1, ""), map[bool]int{true: 404, false: 420}[v11])
	eq(t, "after delete", fmtSlice(expect(t, c.do("GET", "/networks", ""), 200).ids("networks")), fmtSlice([]string{net2}))
}

func fmtSlice(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out + "]"
}

// TestTenantIsolation: another tenant's network is not found on every
// route that names it.
func TestTenantIsolation(t *testing.T) {
	b := newBackend(t)
	h := testHandler(t, b)
	own := tclient{t: t, h: h, ver: v11, f: formatJSON, tenant: "owner"}
	net := expect(t, own.do("POST", "/networks", `{"network":{"name":"n"}}`), 202).str("network.id")
	port := expect(t, own.do("POST", "/networks/"+net+"/ports", ""), 202).str("port.id")

	other := tclient{t: t, h: h, ver: v11, f: formatJSON, tenant: "intruder"}
	for _, rt := range []struct{ method, path, body string }{
		{"GET", "/networks/" + net, ""},
		{"GET", "/networks/" + net + "/detail", ""},
		{"PUT", "/networks/" + net, `{"network":{"name":"x"}}`},
		{"DELETE", "/networks/" + net, ""},
		{"GET", "/networks/" + net + "/ports", ""},
		{"POST", "/networks/" + net + "/ports", ""},
		{"GET", "/networks/" + net + "/ports/" + port, ""},
		{"PUT", "/networks/" + net + "/ports/" + port, `{"port":{"state":"DOWN"}}`},
		{"DELETE", "/networks/" + net + "/ports/" + port, ""},
		{"GET", "/networks/" + net + "/ports/" + port + "/attachment", ""},
		{"PUT", "/networks/" + net + "/ports/" + port + "/attachment", `{"attachment":{"id":"v"}}`},
		{"DELETE", "/networks/" + net + "/ports/" + port + "/attachment", ""},
		{"GET", "/networks/" + net + "/attachments", ""},
		{"POST", "/networks/" + net + "/attachments", `{"attachment":{"id":"v"}}`},
	} {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			r := expect(t, other.do(rt.method, rt.path, rt.body), 404)
			eq(t, "type", r.str("QuantumError.type"), "NetworkNotFound")
		})
	}
	eq(t, "intruder sees no networks", expect(t, other.do("GET", "/networks", ""), 200).len("networks"), 0)
}
