package api

import (
	"net/http"
	"testing"
)

// TestNegotiation checks the order: suffix, then Content-Type, then
// Accept, then JSON; and that one format governs body and reply.
func TestNegotiation(t *testing.T) {
	const (
		j = "application/json"
		x = "application/xml"
	)
	cases := []struct {
		name         string
		method, path string
		body         string
		hdr          []string
		wantCode     int
		wantType     string
	}{
		{"default is JSON", "GET", "/networks", "", nil, 200, j},
		{"Accept XML", "GET", "/networks", "", []string{"Accept", x}, 200, x},
		{"Accept text/xml", "GET", "/networks", "", []string{"Accept", "text/xml"}, 200, x},
		{"Accept by q", "GET", "/networks", "", []string{"Accept", "application/json;q=0.5, application/xml"}, 200, x},
		{"Accept tie prefers JSON", "GET", "/networks", "", []string{"Accept", "application/xml, application/json"}, 200, j},
		{"Accept wildcard", "GET", "/networks", "", []string{"Accept", "*/*"}, 200, j},
		{"Accept unknown", "GET", "/networks", "", []string{"Accept", "text/html"}, 200, j},
		{"Content-Type beats Accept", "POST", "/networks", `<network name="a"/>`,
			[]string{"Content-Type", x + "; charset=utf-8", "Accept", j}, 202, x},
		{"Content-Type JSON beats Accept", "POST", "/networks", `{"network":{"name":"a"}}`,
			[]string{"Content-Type", j, "Accept", x}, 202, j},
		{"unknown Content-Type falls to Accept", "GET", "/networks", "", []string{"Content-Type", "text/plain", "Accept", x}, 200, x},
		{"suffix beats Accept", "GET", "/networks.json", "", []string{"Accept", x}, 200, j},
		{"suffix beats Content-Type", "POST", "/networks.xml", `<network name="a"/>`, []string{"Content-Type", j}, 202, x},
		{"suffix governs the body too", "POST", "/networks.json", `<network name="a"/>`, []string{"Content-Type", x}, 400, j},
		{"Content-Type governs the reply of a bad body", "POST", "/networks", `{"network":{"name":"a"}}`,
			[]string{"Content-Type", x}, 400, x},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := testHandler(t, newBackend(t))
			r := do(t, h, tc.method, "/v1.1/tenants/t"+tc.path, tc.body, tc.hdr...)
			eq(t, "status", r.code, tc.wantCode)
			eq(t, "Content-Type", r.header.Get("Content-Type"), tc.wantType)
		})
	}
}

// TestSuffix checks the suffix is stripped from the last segment only,
// on every kind of route.
func TestSuffix(t *testing.T) {
	b := newBackend(t)
	h := testHandler(t, b)
	c := tclient{t: t, h: h, ver: v11, f: formatJSON, tenant: "t"}
	net := expect(t, c.do("POST", "/networks", `{"network":{"name":"n"}}`), 202).str("network.id")
	port := expect(t, c.do("POST", "/networks/"+net+"/ports", ""), 202).str("port.id")
	pp := "/v1.1/tenants/t/networks/" + net + "/ports/" + port
	for _, tc := range []struct {
		method, path, body string
		code               int
		ctype              string
	}{
		{"GET", "/v1.1/tenants/t/networks/detail.xml", "", 200, "application/xml"},
		{"GET", "/v1.1/tenants/t/networks/" + net + ".xml", "", 200, "application/xml"},
		{"GET", "/v1.1/tenants/t/networks/" + net + "/detail.json", "", 200, "application/json"},
		{"GET", pp + "/attachment.json", "", 200, "application/json"},
		{"PUT", pp + "/attachment.xml", `<attachment><id>vif-9</id></attachment>`, 204, ""},
		{"GET", pp + "/attachment.xml", "", 200, "application/xml"},
		{"GET", "/v1.0/extensions.xml", "", 200, "application/xml"},
		{"GET", "/v1.0/extensions/provider.xml", "", 200, "application/xml"},
		{"GET", "/v1.1/tenants/t.xml/networks", "", 200, "application/json"}, // not the last segment: a tenant id
		{"GET", "/v1.1/tenants/t/networks/.json", "", 404, "application/json"},
		{"GET", "/v1.1/tenants/t/networks.yaml", "", 404, "application/json"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := do(t, h, tc.method, tc.path, tc.body)
			eq(t, "status", r.code, tc.code)
			eq(t, "Content-Type", r.header.Get("Content-Type"), tc.ctype)
		})
	}
	if a, _ := b.GetAttachment(t.Context(), "t", net, port); a == nil || a.ID != "vif-9" {
		t.Errorf("XML plug via suffix did not plug: %+v", a)
	}
}

func TestHeadIsGet(t *testing.T) {
	h := testHandler(t, newBackend(t))
	req, _ := http.NewRequest("HEAD", "/v1.0/tenants/t/networks", nil)
	rec := newRecorder()
	h.ServeHTTP(rec, req)
	eq(t, "status", rec.Code, 200)
}
