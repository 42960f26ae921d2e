package api

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	net := networkCreateSchema()
	att := attachmentSchema()
	portUpd := portUpdateSchema()
	cases := []struct {
		name    string
		f       format
		s       schema
		body    string
		want    fields
		errWant string   // substring of the 400 detail; "" = success
		ignored []string // object.key of each key skipped, in order
	}{
		{"json", formatJSON, net, `{"network":{"name":"a","segmentation-id":7}}`, fields{"name": "a", "segmentation-id": "7"}, "", nil},
		{"json null attribute", formatJSON, net, `{"network":{"name":"a","network-type":null}}`, fields{"name": "a"}, "", nil},
		{"json null root", formatJSON, att, `{"attachment":null}`, fields{}, "", nil},
		{"json unknown top key", formatJSON, net, `{"network":{"name":"a"},"extra":{"x":[1,{"y":null}]}}`, fields{"name": "a"}, "", []string{"top.extra"}},
		{"json wrong root", formatJSON, net, `{"networks":{"name":"a"}}`, nil, `missing key "network"`, nil},
		{"json missing root", formatJSON, net, `{}`, nil, `missing key "network"`, nil},
		{"json null body", formatJSON, net, `null`, nil, "not a JSON object", nil},
		{"json unknown attributes", formatJSON, net, `{"network":{"name":"a","nmae":"b","nova_id":{"deep":[1]}}}`, fields{"name": "a"}, "",
			[]string{"network.nmae", "network.nova_id"}},
		{"json known top key", formatJSON, portUpd, `{"network_id":"N","port":{"state":"ACTIVE","id":"P"},"z":1}`,
			fields{"network_id": "N", "state": "ACTIVE", "id": "P"}, "", []string{"top.z"}},
		{"json known top key wrong type", formatJSON, portUpd, `{"network_id":7,"port":{}}`, nil, "network_id must be a string", nil},
		{"json NUL in a known value", formatJSON, net, `{"network":{"name":"a\u0000b"}}`, nil, "network name contains a control character (U+0000)", nil},
		{"json NUL in an ignored value", formatJSON, net, `{"network":{"name":"a","x":"\u0000"}}`, fields{"name": "a"}, "", []string{"network.x"}},
		{"json lone high surrogate", formatJSON, net, `{"network":{"name":"\ud800"}}`, nil, "not valid UTF-8", nil},
		{"json lone low surrogate", formatJSON, net, `{"network":{"name":"a\uDC00"}}`, nil, "not valid UTF-8", nil},
		{"json reversed pair", formatJSON, net, `{"network":{"name":"\udc00\ud800"}}`, nil, "not valid UTF-8", nil},
		{"json escaped pair", formatJSON, net, `{"network":{"name":"\ud83d\ude00 \\ud800"}}`, fields{"name": "\U0001F600 \\ud800"}, "", nil},
		{"json invalid UTF-8", formatJSON, net, "{\"network\":{\"name\":\"a\xffb\"}}", nil, "not valid UTF-8", nil},
		{"json literal U+FFFD", formatJSON, net, `{"network":{"name":"\ufffd\uFFFD�"}}`, fields{"name": "\uFFFD\uFFFD\uFFFD"}, "", nil},
		{"json tab", formatJSON, net, `{"network":{"name":"a\tb"}}`, nil, "control character (U+0009)", nil},
		{"json C1", formatJSON, net, `{"network":{"name":"a\u0085"}}`, nil, "control character (U+0085)", nil},
		{"json DEL", formatJSON, net, `{"network":{"name":"a\u007f"}}`, nil, "control character (U+007F)", nil},
		{"json long name", formatJSON, net, `{"network":{"name":"` + strings.Repeat("é", 128) + `"}}`, nil, "network name is longer than 255 bytes", nil},
		{"json long device", formatJSON, att, `{"attachment":{"id":"v","device":"tap0123456789abc"}}`, nil, "attachment device is longer than 15 bytes", nil},
		{"json long mac", formatJSON, att, `{"attachment":{"id":"v","mac":"fa:16:3e:00:00:01:0"}}`, nil, "attachment mac is longer than 17 bytes", nil},
		{"json wrong type", formatJSON, net, `{"network":{"name":5}}`, nil, "must be a string", nil},
		{"json non-integer", formatJSON, net, `{"network":{"name":"a","segmentation-id":1.5}}`, nil, "must be an integer", nil},
		{"json root not object", formatJSON, net, `{"network":"a"}`, nil, "must be an object", nil},
		{"json not object", formatJSON, net, `[1]`, nil, "not a JSON object", nil},
		{"json trailing data", formatJSON, net, `{"network":{"name":"a"}} {}`, nil, "after the JSON object", nil},
		{"json syntax", formatJSON, net, `{"network":`, nil, "not a JSON object", nil},

		{"xml attributes", formatXML, att, `<attachment id="v" device="tap1" vm-id="vm"/>`, fields{"id": "v", "device": "tap1", "vm-id": "vm"}, "", nil},
		{"xml children", formatXML, att, "<attachment>\n <id>v</id>\n <mac>m</mac>\n</attachment>", fields{"id": "v", "mac": "m"}, "", nil},
		{"xml mixed with namespace and prolog", formatXML, net,
			`<?xml version="1.0"?><!-- c --><network xmlns="http://openstack.org/quantum/api/v1.1" name="a"><segmentation-id> 12 </segmentation-id></network>`,
			fields{"name": "a", "segmentation-id": "12"}, "", nil},
		{"xml wrong root", formatXML, net, `<port state="x"/>`, nil, `missing key "network"`, nil},
		{"xml unknown attribute", formatXML, net, `<network name="a" bogus="1"/>`, fields{"name": "a"}, "", []string{"network.bogus"}},
		{"xml unknown children", formatXML, net,
			`<network><bogus>1</bogus><name>a</name><allowed_address_pairs/><pairs><pair ip="x"><mac>m</mac></pair></pairs></network>`,
			fields{"name": "a"}, "", []string{"network.bogus", "network.allowed_address_pairs", "network.pairs"}},
		{"xml NUL char ref", formatXML, net, `<network name="a&#0;b"/>`, nil, "not XML", nil},
		{"xml tab char ref", formatXML, net, `<network name="a&#9;b"/>`, nil, "control character (U+0009)", nil},
		{"xml C1 in a child", formatXML, net, "<network><name>a\u0085</name></network>", nil, "control character (U+0085)", nil},
		{"xml surrogate char ref", formatXML, net, `<network name="&#xD800;"/>`, nil, "not XML", nil},
		{"xml invalid UTF-8", formatXML, net, "<network name=\"a\xc0\xafb\"/>", nil, "not valid UTF-8", nil},
		{"xml long device", formatXML, att, `<attachment id="v" device="0123456789abcdef"/>`, nil, "longer than 15 bytes", nil},
		{"xml nested child", formatXML, net, `<network><name><x/></name></network>`, nil, "text only", nil},
		{"xml text in root", formatXML, net, `<network>hello</network>`, nil, "unexpected text", nil},
		{"xml second root", formatXML, net, `<network name="a"/><network/>`, nil, "after the root", nil},
		{"xml bad integer", formatXML, net, `<network name="a" segmentation-id="x"/>`, nil, "must be an integer", nil},
		{"xml unclosed", formatXML, net, `<network name="a">`, nil, "not XML", nil},
		{"xml mismatched", formatXML, net, `<network><name>a</nmae></network>`, nil, "not XML", nil},
		{"xml not xml", formatXML, net, `{"network":{}}`, nil, "not XML", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			s.ignored = &ignoredKeys{}
			got, err := decode([]byte(tc.body), tc.f, s)
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
			var ignored []string
			for _, k := range s.ignored.keys {
				ignored = append(ignored, k.object+"."+k.key)
			}
			if !slices.Equal(ignored, tc.ignored) {
				t.Errorf("ignored %v, want %v", ignored, tc.ignored)
			}
		})
	}
}

// TestBodiesThroughHandler runs decoding through the handler: unknown keys
// ignored, 400s naming the key for the known ones, ids contradicting the
// URL, the empty-body rule, and the size limit's edge.
func TestBodiesThroughHandler(t *testing.T) {
	h := testHandler(t, newBackend(t))
	c := tclient{t: t, h: h, ver: v10, f: formatJSON, tenant: "t"}
	net := expect(t, c.do("POST", "/networks", `{"network":{"name":"n"}}`), 200).str("network.id")
	for _, tc := range []struct {
		method, path, body string
		code               int
		detail             string
	}{
		{"POST", "/networks", "", 400, "empty"},
		{"POST", "/networks", `{"network":{"name":"n","id":"x"}}`, 200, ""}, // an id on create: ignored
		{"POST", "/networks", `{"network":{"name":"n","network-type":"gre"}}`, 400, "gre"},
		{"POST", "/networks", `{"network":{"name":"n","segmentation-id":"7"}}`, 400, "network segmentation-id must be an integer"},
		// The segment is fixed: provider attributes in an update are unknown keys.
		{"PUT", "/networks/" + net, `{"network":{"name":"n","network-type":"vlan"}}`, 204, ""},
		{"PUT", "/networks/" + net, `{"network":{"name":"n","id":"` + net + `"}}`, 204, ""},
		{"PUT", "/networks/" + net, `{"network":{"name":"n","id":"other"}}`, 400, `attribute "id" of "network" is "other"`},
		{"PUT", "/networks/" + net, `{"network":{"name":"n","id":5}}`, 400, "network id must be a string"},
		{"PUT", "/networks/" + net, `{"network":{}}`, 400, `"name"`},
		{"PUT", "/networks/" + net, "", 400, "empty"},
		{"POST", "/networks/" + net + "/ports", "", 200, ""},
		{"POST", "/networks/" + net + "/ports", "  \n", 200, ""},
		{"POST", "/networks/" + net + "/ports", `{"port":{}}`, 200, ""},
		{"POST", "/networks/" + net + "/ports", `{"port":{"state":"down","x":1}}`, 200, ""},
		{"POST", "/networks/" + net + "/ports", `{"ports":{}}`, 400, `missing key "port"`},
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
