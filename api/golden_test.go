package api

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	qtestutil "github.com/quantum-agent/quantum-agent/internal/testutil"
)

// releasedClientBodies are the bodies the released clients send, exactly
// (python-quantumclient 2012.1's CLI, Nova 2012.1's QuantumManager), and
// their XML equivalents; %[1]s is the network id, %[2]s the port id.
type releasedBody struct {
	name      string
	json, xml string
	// ignored is how many keys each format's body holds that the agent
	// does not know, by object.
	ignoredJSON, ignoredXML map[string]float64
}

func releasedClientBodies() (createNet, createPort, updateNet, updatePort releasedBody) {
	createNet = releasedBody{name: "nova create-network",
		json:        `{"network": {"name": "nova-net", "nova_id": "5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"}}`,
		xml:         `<network name="nova-net" nova_id="5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"/>`,
		ignoredJSON: map[string]float64{"network": 1}, ignoredXML: map[string]float64{"network": 1}}
	createPort = releasedBody{name: "nova create-port",
		json: `{"port": {"state": "ACTIVE", "vm_id": "vm-7", "rxtx_factor": 1.0, "nova_id": "n-7", "allowed_address_pairs": []}}`,
		xml: `<port state="ACTIVE"><vm_id>vm-7</vm_id><rxtx_factor>1.0</rxtx_factor><nova_id>n-7</nova_id>` +
			`<allowed_address_pairs/></port>`,
		ignoredJSON: map[string]float64{"port": 4}, ignoredXML: map[string]float64{"port": 4}}
	updateNet = releasedBody{name: "cli update-net",
		json:        `{"network": {"name": "n2", "id": "%[1]s"}}`,
		xml:         `<network name="n2" id="%[1]s" nova_id="x"/>`,
		ignoredJSON: map[string]float64{}, ignoredXML: map[string]float64{"network": 1}}
	updatePort = releasedBody{name: "cli update-port",
		json:        `{"network_id": "%[1]s", "port": {"state": "ACTIVE", "id": "%[2]s"}}`,
		xml:         `<port state="ACTIVE" id="%[2]s"><allowed_address_pairs><pair ip="198.18.0.9"><mac>m</mac></pair></allowed_address_pairs></port>`,
		ignoredJSON: map[string]float64{}, ignoredXML: map[string]float64{"port": 1}}
	return
}

func (b releasedBody) in(f format, netID, portID string) string {
	body := b.json
	if f == formatXML {
		body = b.xml
	}
	if strings.Contains(body, "%[") {
		body = fmt.Sprintf(body, netID, portID)
	}
	return body
}

func (b releasedBody) ignored(f format) map[string]float64 {
	if f == formatXML {
		return b.ignoredXML
	}
	return b.ignoredJSON
}

// TestReleasedClientBodies: the four bodies the released clients send are
// accepted on both versions, in JSON and XML; what the agent knows takes
// effect, what it does not is ignored, logged at debug by name and
// counted by object.
func TestReleasedClientBodies(t *testing.T) {
	createNet, createPort, updateNet, updatePort := releasedClientBodies()
	for _, ver := range []string{v10, v11} {
		for _, f := range []format{formatJSON, formatXML} {
			t.Run(ver+"/"+formatName(f), func(t *testing.T) {
				logs := &qtestutil.SyncBuffer{}
				m := NewMetrics(prometheus.NewPedanticRegistry())
				log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				c := tclient{t: t, h: NewHandler(newBackend(t), log, WithMetrics(m)), ver: ver, f: f, tenant: "demo"}
				created := 202
				if ver == v10 {
					created = 200
				}
				want := map[string]float64{}
				add := func(b releasedBody) {
					for obj, n := range b.ignored(f) {
						want[obj] += n
					}
				}

				r := expect(t, c.do("POST", "/networks", createNet.in(f, "", "")), created)
				add(createNet)
				netID := r.str("network.id")
				r = expect(t, c.do("GET", "/networks/"+netID, ""), 200)
				eq(t, "created name", r.str("network.name"), "nova-net")
				if r.has("network.nova_id") {
					t.Errorf("nova_id stored: %s", r.raw)
				}

				r = expect(t, c.do("POST", "/networks/"+netID+"/ports", createPort.in(f, netID, "")), created)
				add(createPort)
				portID := r.str("port.id")
				r = expect(t, c.do("GET", "/networks/"+netID+"/ports/"+portID, ""), 200)
				eq(t, "created port state", r.str("port.state"), "ACTIVE")
				for _, k := range []string{"vm_id", "rxtx_factor", "nova_id", "allowed_address_pairs"} {
					if r.has("port." + k) {
						t.Errorf("%s stored: %s", k, r.raw)
					}
				}

				expect(t, c.do("PUT", "/networks/"+netID, updateNet.in(f, netID, portID)), 204)
				add(updateNet)
				eq(t, "renamed", expect(t, c.do("GET", "/networks/"+netID, ""), 200).str("network.name"), "n2")

				// DOWN first, so that the CLI's ACTIVE is seen to take effect.
				expect(t, c.do("PUT", "/networks/"+netID+"/ports/"+portID, reqBody(f, "port", map[string]any{"state": "DOWN"})), 204)
				expect(t, c.do("PUT", "/networks/"+netID+"/ports/"+portID, updatePort.in(f, netID, portID)), 204)
				add(updatePort)
				eq(t, "updated port state", expect(t, c.do("GET", "/networks/"+netID+"/ports/"+portID, ""), 200).str("port.state"), "ACTIVE")

				for _, obj := range []string{"network", "port", "attachment", topObject} {
					eq(t, "ignored keys of "+obj, testutil.ToFloat64(m.ignoredKeys.WithLabelValues(obj)), want[obj])
				}
				for _, name := range []string{"network.nova_id", "port.vm_id", "port.rxtx_factor", "port.allowed_address_pairs"} {
					if !strings.Contains(logs.String(), name) {
						t.Errorf("debug log does not name %s:\n%s", name, logs.String())
					}
				}
			})
		}
	}
}

// TestIDsMustMatchTheURL: an id an update body repeats must be the URL's;
// another is a 400 naming the key, and nothing changes.
func TestIDsMustMatchTheURL(t *testing.T) {
	for _, ver := range []string{v10, v11} {
		for _, f := range []format{formatJSON, formatXML} {
			t.Run(ver+"/"+formatName(f), func(t *testing.T) {
				c := tclient{t: t, h: testHandler(t, newBackend(t)), ver: ver, f: f, tenant: "demo"}
				netID := c.mustCreate("/networks", reqBody(f, "network", map[string]any{"name": "n1"}), "network")
				portID := c.mustCreate("/networks/"+netID+"/ports", "", "port")
				other := "00000000-0000-4000-8000-000000000000"
				cases := []struct{ path, body, key string }{
					{"/networks/" + netID, reqBody(f, "network", map[string]any{"name": "n2", "id": other}), `"id" of "network"`},
					{"/networks/" + netID + "/ports/" + portID, reqBody(f, "port", map[string]any{"state": "ACTIVE", "id": other}), `"id" of "port"`},
				}
				if f == formatJSON { // XML has no top level besides the root
					cases = append(cases, struct{ path, body, key string }{"/networks/" + netID + "/ports/" + portID,
						`{"network_id": "` + other + `", "port": {"state": "ACTIVE", "id": "` + portID + `"}}`, `"network_id"`})
				}
				for _, tc := range cases {
					r := c.do("PUT", tc.path, tc.body)
					checkFault(t, r, ver, f, 400, "malformedRequest", 400, "MalformedRequest", "", tc.key)
					if !strings.Contains(r.raw, other) {
						t.Errorf("detail does not show the wrong id: %s", r.raw)
					}
				}
				eq(t, "name kept", expect(t, c.do("GET", "/networks/"+netID, ""), 200).str("network.name"), "n1")
				eq(t, "state kept", expect(t, c.do("GET", "/networks/"+netID+"/ports/"+portID, ""), 200).str("port.state"), "DOWN")
			})
		}
	}
}

// mustCreate POSTs body to rel and returns the new object's id.
func (c tclient) mustCreate(rel, body, key string) string {
	c.t.Helper()
	r := c.do("POST", rel, body)
	if r.code != 200 && r.code != 202 {
		c.t.Fatalf("POST %s: %d %s", rel, r.code, r.raw)
	}
	return r.str(key + ".id")
}
