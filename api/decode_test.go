package api

import (
	"maps"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	net := networkCreateSchema()
	att := attachmentSchema()
	cases := []struct {
		name    string
		f       format
		s       schema
		body    string
		want    fields
		errWant string // substring of the 400 detail; "" = success
	}{
		{"json", formatJSON, net, `{"network":{"name":"a","segmentation-id":7}}`, fields{"name": "a", "segmentation-id": "7"}, ""},
		{"json null attribute", formatJSON, net, `{"network":{"name":"a","network-type":null}}`, fields{"name": "a"}, ""},
		{"json null root", formatJSON, att, `{"attachment":null}`, fields{}, ""},
		{"json unknown top key", formatJSON, net, `{"network":{"name":"a"},"extra":1}`, nil, `unknown key "extra"`},
		{"json wrong root", formatJSON, net, `{"networks":{"name":"a"}}`, nil, `unknown key "networks"`},
		{"json missing root", formatJSON, net, `{}`, nil, `missing key "network"`},
		{"json unknown attribute", formatJSON, net, `{"network":{"name":"a","nmae":"b"}}`, nil, `unknown attribute "nmae"`},
		{"json wrong type", formatJSON, net, `{"network":{"name":5}}`, nil, "must be a string"},
		{"json non-integer", formatJSON, net, `{"network":{"name":"a","segmentation-id":1.5}}`, nil, "must be an integer"},
		{"json root not object", formatJSON, net, `{"network":"a"}`, nil, "must be an object"},
		{"json not object", formatJSON, net, `[1]`, nil, "not a JSON object"},
		{"json trailing data", formatJSON, net, `{"network":{"name":"a"}} {}`, nil, "after the JSON object"},
		{"json syntax", formatJSON, net, `{"network":`, nil, "not a JSON object"},

		{"xml attributes", formatXML, att, `<attachment id="v" device="tap1" vm-id="vm"/>`, fields{"id": "v", "device": "tap1", "vm-id": "vm"}, ""},
		{"xml children", formatXML, att, "<attachment>\n <id>v</id>\n <mac>m</mac>\n</attachment>", fields{"id": "v", "mac": "m"}, ""},
		{"xml mixed with namespace and prolog", formatXML, net,
			`<?xml version="1.0"?><!-- c --><network xmlns="http://openstack.org/quantum/api/v1.1" name="a"><segmentation-id> 12 </segmentation-id></network>`,
			fields{"name": "a", "segmentation-id": "12"}, ""},
		{"xml wrong root", formatXML, net, `<port state="x"/>`, nil, `unknown key "port"`},
		{"xml unknown attribute", formatXML, net, `<network name="a" bogus="1"/>`, nil, `unknown attribute "bogus"`},
		{"xml unknown child", formatXML, net, `<network><bogus>1</bogus></network>`, nil, `unknown attribute "bogus"`},
		{"xml nested child", formatXML, net, `<network><name><x/></name></network>`, nil, "text only"},
		{"xml text in root", formatXML, net, `<network>hello</network>`, nil, "unexpected text"},
		{"xml second root", formatXML, net, `<network name="a"/><network/>`, nil, "after the root"},
		{"xml bad integer", formatXML, net, `<network name="a" segmentation-id="x"/>`, nil, "must be an integer"},
		{"xml unclosed", formatXML, net, `<network name="a">`, nil, "not XML"},
		{"xml mismatched", formatXML, net, `<network><name>a</nmae></network>`, nil, "not XML"},
		{"xml not xml", formatXML, net, `{"network":{}}`, nil, "not XML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decode([]byte(tc.body), tc.f, tc.s)
			if tc.errWant != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errWant) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errWant)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestStrictBodies runs strict decoding through the handler: 400s naming
// the key, the empty-body rule, and the size limit's edge.
func TestStrictBodies(t *testing.T) {
	h := testHandler(t, newBackend(t))
	c := tclient{t: t, h: h, ver: v10, f: formatJSON, tenant: "t"}
	net := expect(t, c.do("POST", "/networks", `{"network":{"name":"n"}}`), 200).str("network.id")
	for _, tc := range []struct {
		method, path, body string
		code               int
		detail             string
	}{
		{"POST", "/networks", "", 400, "empty"},
		{"POST", "/networks", `{"network":{"name":"n","id":"x"}}`, 400, `"id"`},
		{"POST", "/networks", `{"network":{"name":"n","network-type":"gre"}}`, 400, "gre"},
		{"PUT", "/networks/" + net, `{"network":{"name":"n","network-type":"vlan"}}`, 400, `"network-type"`},
		{"PUT", "/networks/" + net, `{"network":{}}`, 400, `"name"`},
		{"PUT", "/networks/" + net, "", 400, "empty"},
		{"POST", "/networks/" + net + "/ports", "", 200, ""},
		{"POST", "/networks/" + net + "/ports", "  \n", 200, ""},
		{"POST", "/networks/" + net + "/ports", `{"port":{}}`, 200, ""},
		{"POST", "/networks/" + net + "/ports", `{"port":{"state":"down","x":1}}`, 400, `"x"`},
		{"POST", "/networks/" + net + "/ports", `{"ports":{}}`, 400, `"ports"`},
		{"POST", "/networks/" + net + "/attachments", `{"attachment":{}}`, 400, `"id"`},
		{"POST", "/networks/" + net + "/attachments", "", 400, "empty"},
		// exactly 1 MiB passes, one byte more does not
		// Exactly 1 MiB is read (and then refused by the agent's 255-byte
		// name limit, not by the size limit); one byte more is not read.
		{"POST", "/networks", `{"network":{"name":"` + strings.Repeat("x", maxBody-23) + `"}}`, 400, "longer than 255"},
		{"POST", "/networks", `{"network":{"name":"` + strings.Repeat("x", maxBody-22) + `"}}`, 413, "1 MiB"},
	} {
		t.Run(tc.method+" "+tc.path+" "+tc.body[:min(len(tc.body), 40)], func(t *testing.T) {
			r := expect(t, c.do(tc.method, tc.path, tc.body), tc.code)
			if tc.detail != "" {
				for _, k := range []string{"malformedRequest", "requestedStateInvalid", "overLimit"} {
					if r.has(k) && !strings.Contains(r.str(k+".detail"), tc.detail) {
						t.Errorf("detail %q lacks %q", r.str(k+".detail"), tc.detail)
					}
				}
			}
		})
	}
}
