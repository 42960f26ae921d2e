package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/quantum-agent/quantum-agent/agent"
)

// hostileCase is one request that must be refused before it reaches the
// Quantum DB. In path and body, {net}, {port} and {free} stand for a
// network of tenant t, a port with an attachment and a free port.
type hostileCase struct {
	name         string
	method, path string // path under /v1.x; may hold raw %-escapes
	body         string
	header       []string // name, value pairs
	code         int      // the v1.1 status; 0 = any 4xx
}

func hostileCases() []hostileCase {
	long := strings.Repeat("x", 5000)
	netJSON := `{"network":{"name":"n"}}`
	attJSON := func(attrs string) string { return `{"attachment":{"id":"vif-new"` + attrs + `}}` }
	return []hostileCase{
		// Path values, URL-encoded.
		{name: "tenant NUL", method: "POST", path: "/tenants/a%00b/networks", body: netJSON, code: 400},
		{name: "tenant slash", method: "POST", path: "/tenants/a%2Fb/networks", body: netJSON, code: 400},
		{name: "tenant dot-dot", method: "POST", path: "/tenants/%2e%2e/networks", body: netJSON},
		{name: "tenant dot", method: "POST", path: "/tenants/%2E/networks", body: netJSON},
		{name: "tenant overlong slash", method: "POST", path: "/tenants/%C0%AF/networks", body: netJSON, code: 400},
		{name: "tenant 0xFF", method: "POST", path: "/tenants/%FF/networks", body: netJSON, code: 400},
		{name: "tenant 5000 bytes", method: "POST", path: "/tenants/" + long + "/networks", body: netJSON, code: 400},
		{name: "tenant tab", method: "POST", path: "/tenants/a%09b/networks", body: netJSON, code: 400},
		{name: "tenant DEL", method: "POST", path: "/tenants/a%7Fb/networks", body: netJSON, code: 400},
		{name: "tenant C1", method: "POST", path: "/tenants/a%C2%85b/networks", body: netJSON, code: 400},
		{name: "tenant NUL list", method: "GET", path: "/tenants/%00/networks/detail", code: 400},
		{name: "tenant NUL delete", method: "DELETE", path: "/tenants/t%00/networks/{net}", code: 400},
		{name: "network id NUL rename", method: "PUT", path: "/tenants/t/networks/{net}%00", body: `{"network":{"name":"r"}}`, code: 400},
		{name: "network id 0xFF delete", method: "DELETE", path: "/tenants/t/networks/%FF", code: 400},
		{name: "network id NUL create port", method: "POST", path: "/tenants/t/networks/{net}%00/ports", code: 400},
		{name: "port id NUL update", method: "PUT", path: "/tenants/t/networks/{net}/ports/{free}%00", body: `{"port":{"state":"ACTIVE"}}`, code: 400},
		{name: "port id slash plug", method: "PUT", path: "/tenants/t/networks/{net}/ports/{free}%2Fx/attachment", body: attJSON(""), code: 400},
		{name: "port id overlong unplug", method: "DELETE", path: "/tenants/t/networks/{net}/ports/%C0%AF/attachment", code: 400},
		{name: "network id attachments extension", method: "POST", path: "/tenants/t/networks/%00/attachments", body: attJSON(""), code: 400},
		{name: "extension alias NUL", method: "GET", path: "/extensions/a%00", code: 400},

		// JSON bodies.
		{name: "name NUL", method: "POST", path: "/tenants/t/networks", body: `{"network":{"name":"a\u0000b"}}`, code: 400},
		{name: "name lone surrogate", method: "POST", path: "/tenants/t/networks", body: `{"network":{"name":"\ud800"}}`, code: 400},
		{name: "name invalid UTF-8", method: "POST", path: "/tenants/t/networks", body: "{\"network\":{\"name\":\"a\xffb\"}}", code: 400},
		{name: "name overlong UTF-8", method: "POST", path: "/tenants/t/networks", body: "{\"network\":{\"name\":\"\xc0\xaf\"}}", code: 400},
		{name: "name newline", method: "POST", path: "/tenants/t/networks", body: `{"network":{"name":"a\nb"}}`, code: 400},
		{name: "name 5000 bytes", method: "POST", path: "/tenants/t/networks", body: `{"network":{"name":"` + long + `"}}`, code: 400},
		{name: "physical-network NUL", method: "POST", path: "/tenants/t/networks",
			body: `{"network":{"name":"p","network-type":"flat","physical-network":"physnet1\u0000"}}`, code: 400},
		{name: "network-type C1", method: "POST", path: "/tenants/t/networks", body: `{"network":{"name":"p","network-type":"vlan\u0085"}}`, code: 400},
		{name: "NUL in an ignored key, bad known", method: "POST", path: "/tenants/t/networks", body: `{"network":{"name":"\u0000","x\u0000":1}}`, code: 400},
		{name: "rename NUL", method: "PUT", path: "/tenants/t/networks/{net}", body: `{"network":{"name":"a\u0000"}}`, code: 400},
		{name: "rename other id", method: "PUT", path: "/tenants/t/networks/{net}", body: `{"network":{"name":"r","id":"{free}"}}`, code: 400},
		{name: "port state NUL", method: "POST", path: "/tenants/t/networks/{net}/ports", body: `{"port":{"state":"ACTIVE\u0000"}}`, code: 400},
		{name: "port update other network_id", method: "PUT", path: "/tenants/t/networks/{net}/ports/{free}",
			body: `{"network_id":"x","port":{"state":"ACTIVE"}}`, code: 400},
		{name: "attachment id NUL", method: "PUT", path: "/tenants/t/networks/{net}/ports/{free}/attachment", body: `{"attachment":{"id":"v\u0000"}}`, code: 400},
		{name: "attachment id lone surrogate", method: "POST", path: "/tenants/t/networks/{net}/attachments", body: `{"attachment":{"id":"v\udfff"}}`, code: 400},
		{name: "device NUL", method: "PUT", path: "/tenants/t/networks/{net}/ports/{free}/attachment", body: attJSON(`,"device":"tap\u0000"`), code: 400},
		{name: "device 16 bytes", method: "PUT", path: "/tenants/t/networks/{net}/ports/{free}/attachment", body: attJSON(`,"device":"tap0123456789abc"`), code: 400},
		{name: "mac 18 bytes", method: "POST", path: "/tenants/t/networks/{net}/attachments", body: attJSON(`,"mac":"fa:16:3e:00:00:01x"`), code: 400},
		{name: "vm-id invalid UTF-8", method: "POST", path: "/tenants/t/networks/{net}/attachments", body: attJSON(",\"vm-id\":\"\xfe\""), code: 400},
		{name: "host DEL", method: "PUT", path: "/tenants/t/networks/{net}/ports/{free}/attachment", body: attJSON(`,"host":"hv\u007f"`), code: 400},

		// XML bodies.
		{name: "xml NUL char ref", method: "POST", path: "/tenants/t/networks.xml", body: `<network name="a&#0;b"/>`, code: 400},
		{name: "xml surrogate char ref", method: "POST", path: "/tenants/t/networks.xml", body: `<network name="&#xD800;"/>`, code: 400},
		{name: "xml C1 in a child", method: "POST", path: "/tenants/t/networks.xml", body: `<network><name>a&#x85;</name></network>`, code: 400},
		{name: "xml raw invalid UTF-8", method: "POST", path: "/tenants/t/networks.xml", body: "<network name=\"a\xff\"/>", code: 400},
		{name: "xml rename tab", method: "PUT", path: "/tenants/t/networks/{net}.xml", body: `<network name="a&#9;b"/>`, code: 400},
		{name: "xml rename other id", method: "PUT", path: "/tenants/t/networks/{net}.xml", body: `<network name="r" id="nope"/>`, code: 400},
		{name: "xml plug id newline", method: "PUT", path: "/tenants/t/networks/{net}/ports/{free}/attachment.xml", body: `<attachment id="v&#10;"/>`, code: 400},
		{name: "xml device long", method: "POST", path: "/tenants/t/networks/{net}/attachments.xml",
			body: `<attachment id="vif-new"><device>` + long + `</device></attachment>`, code: 400},

		// Query strings: filters and the wait extension.
		{name: "filter NUL", method: "GET", path: "/tenants/t/networks?name=a%00b", code: 400},
		{name: "filter 0xFF", method: "GET", path: "/tenants/t/networks/detail?name=%FF", code: 400},
		{name: "filter bad escape", method: "GET", path: "/tenants/t/networks?name=%zz", code: 400},
		{name: "filter name NUL", method: "GET", path: "/tenants/t/networks?na%00me=a", code: 400},
		{name: "filter long attachment", method: "GET", path: "/tenants/t/networks/{net}/ports?attachment=" + long, code: 400},
		{name: "wait NUL", method: "GET", path: "/tenants/t/networks/{net}/ports/{port}/attachment?wait=UP%00", code: 400},
		{name: "timeout C1", method: "GET", path: "/tenants/t/networks/{net}/ports/{port}/attachment?wait=UP&timeout=5%C2%85", code: 400},
		{name: "timeout huge", method: "GET", path: "/tenants/t/networks/{net}/ports/{port}/attachment?wait=UP&timeout=99999999999999999999999", code: 400},

		// Headers.
		{name: "idempotency key with a space", method: "POST", path: "/tenants/t/networks", body: netJSON,
			header: []string{"Idempotency-Key", "a b"}, code: 400},
		{name: "idempotency key 256 bytes", method: "POST", path: "/tenants/t/networks", body: netJSON,
			header: []string{"Idempotency-Key", strings.Repeat("k", 256)}, code: 400},
		{name: "idempotency key non-ASCII", method: "POST", path: "/tenants/t/networks/{net}/ports", body: `{"port":{}}`,
			header: []string{"Idempotency-Key", "clé"}, code: 400},
		{name: "idempotency key NUL", method: "PUT", path: "/tenants/t/networks/{net}/ports/{free}/attachment", body: attJSON(""),
			header: []string{"Idempotency-Key", "k\x00"}, code: 400},
		{name: "huge Content-Type", method: "POST", path: "/tenants/t/networks", body: `{"network":{"name":"\u0000"}}`,
			header: []string{"Content-Type", "application/" + strings.Repeat("j", 10000)}, code: 400},
		{name: "XML Content-Type, JSON body", method: "POST", path: "/tenants/t/networks", body: netJSON,
			header: []string{"Content-Type", "application/xml; charset=utf-8"}, code: 400},
	}
}

// expand fills a hostile case's placeholders from w (faults_test.go's
// world: tenant t, a network, a port with vif-1, a free port).
func (w world) expand(s string) string {
	return strings.NewReplacer("{net}", w.net, "{port}", w.used, "{free}", w.free).Replace(s)
}

// storedState is everything a request could have changed: the counts of
// the whole Quantum DB and tenant t's networks, ports and attachments.
type storedState struct {
	counts      agent.Counts
	networks    []agent.Network
	attachments []agent.Attachment
}

func snapshotStored(t *testing.T, w world) storedState {
	t.Helper()
	ctx := context.Background()
	var s storedState
	var err error
	if s.counts, err = w.b.(*testBackend).Counts(ctx); err != nil {
		t.Fatal(err)
	}
	if s.networks, err = w.b.ListNetworks(ctx, "t", true); err != nil {
		t.Fatal(err)
	}
	if s.attachments, err = w.b.ListAttachments(ctx, "t", w.net); err != nil {
		t.Fatal(err)
	}
	// Statuses move with the reconciler, not with requests.
	for i := range s.networks {
		s.networks[i].OpStatus = ""
		for j := range s.networks[i].Ports {
			s.networks[i].Ports[j].OpStatus = ""
			s.networks[i].Ports[j].Attachment = nil
		}
	}
	for i := range s.attachments {
		s.attachments[i].Status, s.attachments[i].Reason = "", ""
	}
	s.counts.Ports, s.counts.Attachments = nil, nil
	return s
}

// TestHostileInput sends every hostile case on both versions through the
// real handler and store: each is a 4xx fault of the version, parsable,
// and nothing is stored.
func TestHostileInput(t *testing.T) {
	cases := hostileCases()
	if len(cases) < 40 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	w := newWorld(t)
	h := testHandler(t, w.b)
	before := snapshotStored(t, w)
	for _, tc := range cases {
		for _, ver := range []string{v10, v11} {
			t.Run(ver+"/"+tc.name, func(t *testing.T) {
				target := "/" + ver + w.expand(tc.path)
				r := sendRaw(t, h, tc.method, target, w.expand(tc.body), tc.header...)
				defer checkHostileFault(t, r, ver, tc.code) // after the state check: a Fatal there must not skip it
				if after := snapshotStored(t, w); !reflect.DeepEqual(after, before) {
					t.Errorf("state changed:\nbefore %+v\nafter  %+v", before, after)
					before = after // so that the next cases are judged on their own
				}
			})
		}
	}
}

// sendRaw is do without a parsed target: the request line carries target
// as it is, %-escapes and all, as a client would send it.
func sendRaw(t *testing.T, h http.Handler, method, target, body string, hdr ...string) response {
	t.Helper()
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	u, err := req.URL.Parse(target)
	if err != nil {
		t.Fatalf("target %q: %v", target, err)
	}
	req.URL, req.RequestURI = u, target
	req.ContentLength = int64(len(body))
	req.Body = io.NopCloser(strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return parseResponse(t, rec.Code, rec.Header(), rec.Body.Bytes())
}

// checkHostileFault: a 4xx (code when given, for v1.1; v1.0's 400 is the
// same), with a one-key fault body of the version.
func checkHostileFault(t *testing.T, r response, ver string, code int) {
	t.Helper()
	if r.code < 400 || r.code > 499 {
		t.Fatalf("status %d, want a 4xx: %s", r.code, r.raw)
	}
	if code != 0 && r.code != code {
		t.Errorf("status %d, want %d: %s", r.code, code, r.raw)
	}
	if len(r.body) != 1 {
		t.Fatalf("not a one-key fault body: %q", r.raw)
	}
	for key := range r.body {
		switch {
		case ver == v11 && key != "QuantumError":
			t.Errorf("v1.1 fault key %q: %s", key, r.raw)
		case ver == v11 && r.str(key+".type") == "":
			t.Errorf("v1.1 fault without a type: %s", r.raw)
		case ver == v10 && r.str(key+".code") != fmt.Sprint(r.code):
			t.Errorf("v1.0 fault code %q, status %d: %s", r.str(key+".code"), r.code, r.raw)
		}
		if r.str(key+".message") == "" {
			t.Errorf("fault without a message: %s", r.raw)
		}
		if strings.ContainsRune(r.str(key+".detail"), 0) {
			t.Errorf("fault detail carries a NUL: %q", r.raw)
		}
	}
	if r.header.Get("Content-Type") == "application/xml" && r.ns != "http://openstack.org/quantum/api/"+ver {
		t.Errorf("XML fault in namespace %q", r.ns)
	}
}
