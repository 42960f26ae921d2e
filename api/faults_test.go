package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
)

// errBackend fails the calls tests send to it with a fixed error.
type errBackend struct {
	agent.Service
	err error
}

func (b errBackend) ListNetworks(context.Context, string, bool) ([]agent.Network, error) {
	return nil, b.err
}

func (b errBackend) CreateNetwork(context.Context, string, agent.NetworkSpec) (agent.Network, error) {
	return agent.Network{}, b.err
}

// slowBackend never answers before the request's deadline.
type slowBackend struct{ agent.Service }

func (slowBackend) ListNetworks(ctx context.Context, _ string, _ bool) ([]agent.Network, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// panicBackend panics inside a handler.
type panicBackend struct{ agent.Service }

func (panicBackend) ListNetworks(context.Context, string, bool) ([]agent.Network, error) {
	panic("boom")
}

// world is a backend holding one network with an attached ACTIVE port
// (vif-1) and a free DOWN port, for the conflict faults.
type world struct {
	b                  agent.Service
	net, used, free    string
	usedPath, freePath string
}

func newWorld(t *testing.T) world {
	t.Helper()
	ctx := t.Context()
	b := newBackend(t)
	n, err := b.CreateNetwork(ctx, "t", agent.NetworkSpec{Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	used, _ := b.CreatePort(ctx, "t", n.ID, agent.PortActive)
	free, _ := b.CreatePort(ctx, "t", n.ID, agent.PortDown)
	if err := b.Plug(ctx, "t", n.ID, used.ID, agent.AttachmentSpec{ID: "vif-1"}); err != nil {
		t.Fatal(err)
	}
	return world{b: b, net: n.ID, used: used.ID, free: free.ID,
		usedPath: "/networks/" + n.ID + "/ports/" + used.ID,
		freePath: "/networks/" + n.ID + "/ports/" + free.ID}
}

// TestFaults checks every fault of docs/api.md's table in both versions and
// both formats: status, name or type, fixed message and detail.
func TestFaults(t *testing.T) {
	type faultCase struct {
		name         string
		backend      func(w world) agent.Service
		opts         []Option
		method, path string
		body         map[string]any // encoded in the format under test
		rawBody      string
		v10          int
		v10Name      string
		v11          int
		v11Type      string
		message      string
		detail       string // substring; "" = not checked
		noDetail     string // must not appear anywhere in the body
	}
	plain := func(w world) agent.Service { return w.b }
	failing := func(err error) func(world) agent.Service {
		return func(w world) agent.Service { return errBackend{w.b, err} }
	}
	cases := []faultCase{
		{name: "malformed", backend: plain, method: "POST", path: "/networks", rawBody: "{",
			v10: 400, v10Name: "malformedRequest", v11: 400, v11Type: "MalformedRequest",
			message: "The server could not comply with the request since it is either malformed or otherwise incorrect."},
		{name: "missing name", backend: plain, method: "POST", path: "/networks", body: map[string]any{},
			v10: 400, v10Name: "malformedRequest", v11: 400, v11Type: "MalformedRequest", detail: `"name"`},
		{name: "unauthorized", backend: failing(&agent.Error{Kind: agent.KindUnauthorized, Detail: "no"}),
			method: "GET", path: "/networks",
			v10: 401, v10Name: "unauthorized", v11: 401, v11Type: "Unauthorized", detail: "no"},
		{name: "network not found", backend: plain, method: "GET", path: "/networks/N",
			v10: 420, v10Name: "networkNotFound", v11: 404, v11Type: "NetworkNotFound",
			message: "Unable to find a network with the specified identifier.", detail: "Network N could not be found"},
		{name: "network in use", backend: plain, method: "DELETE", path: "/networks/{net}",
			v10: 421, v10Name: "networkInUse", v11: 409, v11Type: "NetworkInUse",
			message: "Unable to remove the network: attachments still plugged.", detail: "vif-1"},
		{name: "port not found", backend: plain, method: "GET", path: "/networks/{net}/ports/P",
			v10: 430, v10Name: "portNotFound", v11: 404, v11Type: "PortNotFound",
			message: "Unable to find a port with the specified identifier.", detail: "Port P could not be found on network"},
		{name: "state invalid", backend: plain, method: "PUT", path: "{free}", body: map[string]any{"state": "BROKEN"},
			v10: 431, v10Name: "requestedStateInvalid", v11: 400, v11Type: "RequestedStateInvalid",
			message: "Unable to update port state with specified value.", detail: "BROKEN"},
		{name: "state invalid on create", backend: plain, method: "POST", path: "/networks/{net}/ports", body: map[string]any{"state": "UP"},
			v10: 431, v10Name: "requestedStateInvalid", v11: 400, v11Type: "RequestedStateInvalid"},
		{name: "port in use by plug", backend: plain, method: "PUT", path: "{used}/attachment", body: map[string]any{"id": "vif-2"},
			v10: 432, v10Name: "portInUse", v11: 409, v11Type: "PortInUse",
			message: "A resource is currently attached to the logical port", detail: "vif-1"},
		{name: "port in use by delete", backend: plain, method: "DELETE", path: "{used}",
			v10: 432, v10Name: "portInUse", v11: 409, v11Type: "PortInUse", detail: "vif-1"},
		{name: "already attached elsewhere", backend: plain, method: "PUT", path: "{free}/attachment", body: map[string]any{"id": "vif-1"},
			v10: 440, v10Name: "alreadyAttached", v11: 409, v11Type: "AlreadyAttached",
			message: "The resource is already attached to another port", detail: "The attachment vif-1 is already plugged into port"},
		{name: "already attached here", backend: plain, method: "PUT", path: "{used}/attachment", body: map[string]any{"id": "vif-1"},
			v10: 440, v10Name: "alreadyAttached", v11: 409, v11Type: "AlreadyAttached"},
		{name: "already attached via network", backend: plain, method: "POST", path: "/networks/{net}/attachments", body: map[string]any{"id": "vif-1"},
			v10: 440, v10Name: "alreadyAttached", v11: 409, v11Type: "AlreadyAttached"},
		{name: "over limit", backend: failing(&agent.Error{Kind: agent.KindOverLimit, Detail: "VLAN pool exhausted"}),
			method: "POST", path: "/networks", body: map[string]any{"name": "x"},
			v10: 413, v10Name: "overLimit", v11: 413, v11Type: "OverLimit", detail: "VLAN pool exhausted"},
		{name: "segment in use", backend: failing(&agent.Error{Kind: agent.KindConflict, Detail: "Segment VLAN 150 on physical network physnet1 is already used by another network"}),
			method: "POST", path: "/networks", body: map[string]any{"name": "x"},
			v10: 409, v10Name: "conflict", v11: 409, v11Type: "Conflict", detail: "VLAN 150"},
		{name: "body over 1 MiB", backend: plain, method: "POST", path: "/networks", body: map[string]any{"name": strings.Repeat("x", maxBody)},
			v10: 413, v10Name: "overLimit", v11: 413, v11Type: "OverLimit", detail: "request body larger than 1 MiB"},
		{name: "unavailable", backend: failing(&agent.Error{Kind: agent.KindUnavailable, Detail: "Quantum DB unreachable"}),
			method: "GET", path: "/networks",
			v10: 470, v10Name: "serviceUnavailable", v11: 503, v11Type: "ServiceUnavailable", detail: "Quantum DB unreachable"},
		{name: "deadline", backend: func(w world) agent.Service { return slowBackend{w.b} }, opts: []Option{WithTimeout(20 * time.Millisecond)},
			method: "GET", path: "/networks",
			v10: 470, v10Name: "serviceUnavailable", v11: 503, v11Type: "ServiceUnavailable"},
		{name: "bare context error", backend: failing(fmt.Errorf("transact: %w", context.DeadlineExceeded)),
			method: "GET", path: "/networks",
			v10: 470, v10Name: "serviceUnavailable", v11: 503, v11Type: "ServiceUnavailable", noDetail: "transact"},
		{name: "plugin fault", backend: failing(&agent.Error{Kind: agent.KindPluginFault, Detail: "ovs-vsctl said no"}),
			method: "GET", path: "/networks",
			v10: 471, v10Name: "pluginFault", v11: 500, v11Type: "PluginFault", detail: "ovs-vsctl said no"},
		{name: "unknown error", backend: failing(errors.New("secret cause")), method: "GET", path: "/networks",
			v10: 500, v10Name: "quantumServiceFault", v11: 500, v11Type: "QuantumServiceFault",
			message: "An unexpected error occurred.", noDetail: "secret"},
		{name: "internal kind", backend: failing(&agent.Error{Kind: agent.KindInternal, Detail: "secret detail"}),
			method: "GET", path: "/networks",
			v10: 500, v10Name: "quantumServiceFault", v11: 500, v11Type: "QuantumServiceFault", noDetail: "secret"},
		{name: "panic", backend: func(w world) agent.Service { return panicBackend{w.b} }, method: "GET", path: "/networks",
			v10: 500, v10Name: "quantumServiceFault", v11: 500, v11Type: "QuantumServiceFault", noDetail: "boom"},
		{name: "unknown route", backend: plain, method: "GET", path: "/routers",
			v10: 404, v10Name: "notFound", v11: 404, v11Type: "NotFound", message: "The resource could not be found."},
		{name: "wrong method", backend: plain, method: "PATCH", path: "/networks",
			v10: 405, v10Name: "methodNotAllowed", v11: 405, v11Type: "MethodNotAllowed"},
	}
	for _, tc := range cases {
		for _, ver := range []string{v10, v11} {
			for _, f := range []format{formatJSON, formatXML} {
				t.Run(tc.name+"/"+ver+"/"+formatName(f), func(t *testing.T) {
					w := newWorld(t)
					c := tclient{t: t, h: testHandler(t, tc.backend(w), tc.opts...), ver: ver, f: f, tenant: "t"}
					path := strings.NewReplacer("{net}", w.net, "{used}", w.usedPath, "{free}", w.freePath).Replace(tc.path)
					if !strings.HasPrefix(path, "/networks") && !strings.HasPrefix(path, "/routers") {
						path = "/networks/" + path
					}
					body := tc.rawBody
					if tc.body != nil {
						root := map[string]string{"/networks": "network", "/ports": "port", "/attachment": "attachment", "/attachments": "attachment"}
						body = reqBody(f, rootFor(path, root), tc.body)
					}
					r := c.do(tc.method, path, body)
					checkFault(t, r, ver, f, tc.v10, tc.v10Name, tc.v11, tc.v11Type, tc.message, tc.detail)
					if tc.noDetail != "" && strings.Contains(r.raw, tc.noDetail) {
						t.Errorf("fault leaks %q: %s", tc.noDetail, r.raw)
					}
				})
			}
		}
	}
}

// rootFor picks a body's top-level key from the route it is sent to.
func rootFor(path string, roots map[string]string) string {
	best, root := -1, "network"
	for suffix, r := range roots {
		if i := strings.LastIndex(path, suffix); i > best {
			best, root = i, r
		}
	}
	return root
}

func checkFault(t *testing.T, r response, ver string, f format, v10Code int, v10Name string, v11Code int, v11Type, message, detail string) {
	t.Helper()
	key, code := v10Name, v10Code
	if ver == v11 {
		key, code = "QuantumError", v11Code
	}
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.raw)
	}
	if !r.has(key) {
		t.Fatalf("fault body lacks %q: %s", key, r.raw)
	}
	if ver == v10 {
		eq(t, "code", r.str(key+".code"), fmt.Sprint(v10Code))
	} else {
		eq(t, "type", r.str(key+".type"), v11Type)
	}
	if message != "" {
		eq(t, "message", r.str(key+".message"), message)
	} else if r.str(key+".message") == "" {
		t.Errorf("fault has no message: %s", r.raw)
	}
	if !r.has(key + ".detail") {
		t.Errorf("fault has no detail: %s", r.raw)
	}
	if !strings.Contains(r.str(key+".detail"), detail) {
		t.Errorf("detail %q does not contain %q", r.str(key+".detail"), detail)
	}
	if f == formatXML {
		// code is an attribute on v1.0; everything else child elements.
		if ver == v10 && !strings.Contains(r.raw, fmt.Sprintf(` code="%d"`, v10Code)) {
			t.Errorf("v1.0 XML fault lacks the code attribute: %s", r.raw)
		}
		if ver == v11 && !strings.Contains(r.raw, "<type>"+v11Type+"</type>") {
			t.Errorf("v1.1 XML fault lacks the type element: %s", r.raw)
		}
		if !strings.Contains(r.raw, "<message>") || !strings.Contains(r.raw, "<detail>") {
			t.Errorf("XML fault lacks message/detail elements: %s", r.raw)
		}
	}
}

// TestMethodNotAllowedAllow checks the Allow header of 405 faults.
func TestMethodNotAllowedAllow(t *testing.T) {
	h := testHandler(t, newBackend(t))
	for _, tc := range []struct{ method, path, allow string }{
		{"PATCH", "/v1.0/tenants/t/networks", "GET, HEAD, POST"},
		{"POST", "/v1.1/tenants/t/networks/n", "DELETE, GET, HEAD, PUT"},
		{"DELETE", "/v1.1/tenants/t/networks/detail", "GET, HEAD"},
		{"POST", "/v1.1/tenants/t/networks/n/ports/p/attachment", "DELETE, GET, HEAD, PUT"},
		{"PUT", "/v1.1/tenants/t/networks/n/attachments", "GET, HEAD, POST"},
		{"POST", "/", "GET, HEAD"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := expect(t, do(t, h, tc.method, tc.path, ""), 405)
			eq(t, "Allow", r.header.Get("Allow"), tc.allow)
		})
	}
}

// TestNotFoundOutsideVersions: outside /v1.x faults are plain JSON, even
// when XML is asked for, as there is no namespace to put them in.
func TestNotFoundOutsideVersions(t *testing.T) {
	h := testHandler(t, newBackend(t))
	for _, p := range []string{"/foo", "/v2.0/tenants/t/networks", "/v1.0x", "/foo.xml"} {
		t.Run(p, func(t *testing.T) {
			r := expect(t, do(t, h, "GET", p, "", "Accept", "application/xml"), 404)
			eq(t, "Content-Type", r.header.Get("Content-Type"), "application/json")
			eq(t, "code", r.str("notFound.code"), "404")
		})
	}
	for _, p := range []string{"/v1.0", "/v1.1/", "/v1.1/tenants/t", "/v1.1/tenants/t/networks/", "/v1.1//tenants/t/networks",
		"/v1.1/tenants/t/networks/../networks", "/v1.1/tenants/t/networks/n/ports/p/attachment/x"} {
		t.Run(p, func(t *testing.T) {
			r := expect(t, do(t, h, "GET", p, "", "Accept", "application/xml"), 404)
			eq(t, "Content-Type", r.header.Get("Content-Type"), "application/xml")
		})
	}
}
