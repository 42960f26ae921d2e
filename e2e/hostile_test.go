package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
)

// hostileRequest is sent byte for byte: the request line carries the
// target as written (%-escapes and all), as a hostile client would.
// {net}, {port} and {free}: tenant demo's network, its plugged port and
// its free port.
type hostileRequest struct {
	method, target, body string
	header               []string // name, value pairs
}

// hostileRequests covers every route with what once reached the Quantum DB
// (a NUL drops the agent's connection) or was stored mangled. Header values
// stay within what net/http's server parses (no control bytes): it refuses
// those itself, before the agent sees them.
func hostileRequests() []hostileRequest {
	long := strings.Repeat("y", 5000)
	netBody := `{"network":{"name":"n"}}`
	plug := `{"attachment":{"id":"vif-x"}}`
	return []hostileRequest{
		{"POST", "/tenants/a%00b/networks", netBody, nil},
		{"POST", "/tenants/a%2Fb/networks", netBody, nil},
		{"POST", "/tenants/%2e%2e/networks", netBody, nil},
		{"POST", "/tenants/%C0%AF/networks", netBody, nil},
		{"POST", "/tenants/%FF/networks", netBody, nil},
		{"POST", "/tenants/" + long + "/networks", netBody, nil},
		{"POST", "/tenants/a%0Ab/networks", netBody, nil},
		{"GET", "/tenants/%00/networks", "", nil},
		{"DELETE", "/tenants/demo%00/networks/{net}", "", nil},
		{"PUT", "/tenants/demo/networks/{net}%00", `{"network":{"name":"r"}}`, nil},
		{"POST", "/tenants/demo/networks/%FF/ports", "", nil},
		{"PUT", "/tenants/demo/networks/{net}/ports/{free}%00", `{"port":{"state":"ACTIVE"}}`, nil},
		{"PUT", "/tenants/demo/networks/{net}/ports/{free}%2Fx/attachment", plug, nil},
		{"DELETE", "/tenants/demo/networks/{net}/ports/%C0%AF/attachment", "", nil},
		{"POST", "/tenants/demo/networks/%00/attachments", plug, nil},
		{"POST", "/tenants/demo/networks", `{"network":{"name":"a\u0000b"}}`, nil},
		{"POST", "/tenants/demo/networks", `{"network":{"name":"\ud800"}}`, nil},
		{"POST", "/tenants/demo/networks", "{\"network\":{\"name\":\"a\xffb\"}}", nil},
		{"POST", "/tenants/demo/networks", `{"network":{"name":"` + long + `"}}`, nil},
		{"POST", "/tenants/demo/networks", `{"network":{"name":"p","network-type":"flat","physical-network":"physnet1\u0000"}}`, nil},
		{"PUT", "/tenants/demo/networks/{net}", `{"network":{"name":"\u0000"}}`, nil},
		{"PUT", "/tenants/demo/networks/{net}", `{"network":{"name":"r","id":"{free}"}}`, nil},
		{"POST", "/tenants/demo/networks/{net}/ports", `{"port":{"state":"DOWN\u0000"}}`, nil},
		{"PUT", "/tenants/demo/networks/{net}/ports/{free}", `{"network_id":"other","port":{"state":"ACTIVE"}}`, nil},
		{"PUT", "/tenants/demo/networks/{net}/ports/{free}/attachment", `{"attachment":{"id":"v\u0000"}}`, nil},
		{"PUT", "/tenants/demo/networks/{net}/ports/{free}/attachment", `{"attachment":{"id":"v","device":"t\u0000"}}`, nil},
		{"PUT", "/tenants/demo/networks/{net}/ports/{free}/attachment", `{"attachment":{"id":"v","vm-id":"\udc00"}}`, nil},
		{"POST", "/tenants/demo/networks/{net}/attachments", `{"attachment":{"id":"v","host":"h\u0085"}}`, nil},
		{"POST", "/tenants/demo/networks/{net}/attachments", `{"attachment":{"id":"v","mac":"` + long + `"}}`, nil},
		{"POST", "/tenants/demo/networks.xml", `<network name="a&#0;b"/>`, nil},
		{"POST", "/tenants/demo/networks.xml", `<network name="&#xDBFF;"/>`, nil},
		{"POST", "/tenants/demo/networks.xml", "<network><name>a\xc0\xaf</name></network>", nil},
		{"PUT", "/tenants/demo/networks/{net}.xml", `<network name="a&#10;b"/>`, nil},
		{"PUT", "/tenants/demo/networks/{net}/ports/{free}/attachment.xml", `<attachment id="v&#x7f;"/>`, nil},
		{"GET", "/tenants/demo/networks?name=a%00b", "", nil},
		{"GET", "/tenants/demo/networks/detail?port=%FF", "", nil},
		{"GET", "/tenants/demo/networks/{net}/ports?attachment=%zz", "", nil},
		{"GET", "/tenants/demo/networks/{net}/ports/{port}/attachment?wait=UP%00&timeout=1", "", nil},
		{"GET", "/tenants/demo/networks/{net}/ports/{port}/attachment?wait=UP&timeout=1%0A", "", nil},
		{"POST", "/tenants/demo/networks", netBody, []string{"Idempotency-Key", "has space"}},
		{"POST", "/tenants/demo/networks", netBody, []string{"Idempotency-Key", strings.Repeat("k", 256)}},
		{"POST", "/tenants/demo/networks/{net}/ports", "", []string{"Idempotency-Key", "cl\xc3\xa9"}},
		{"POST", "/tenants/demo/networks", `{"network":{"name":"\u0000"}}`, []string{"Content-Type", "application/" + strings.Repeat("j", 10000)}},
		{"POST", "/tenants/demo/networks", netBody, []string{"Content-Type", "application/xml"}},
	}
}

// TestHostileInputNeverReachesTheDB sends the hostile requests to the real
// agent binary on a real ovsdb-server, on both versions: every answer is a
// 4xx fault of the version, nothing is stored, the agent lives, and its
// Quantum DB connection was never dropped (ovsdb-server logged no
// protocol error, the agent reports the DB connected and still writes).
func TestHostileInputNeverReachesTheDB(t *testing.T) {
	s := newSandbox(t)
	agentProc := s.start(t)
	c := client.New(s.socket)
	ctx := ctxT(t)
	must := mustID(t)
	netID := must(c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "net1"}))
	portID := must(c.CreatePort(ctx, "demo", netID, "ACTIVE"))
	freeID := must(c.CreatePort(ctx, "demo", netID, "DOWN"))
	if err := c.Plug(ctx, "demo", netID, portID, client.PlugRequest{ID: "vif-e2e"}); err != nil {
		t.Fatal(err)
	}
	expand := strings.NewReplacer("{net}", netID, "{port}", portID, "{free}", freeID).Replace

	dbLog := filepath.Join(s.qdb.Dir, "db.log")
	logStart := len(readFile(t, dbLog))
	before := storedOf(ctx, t, c, netID)

	for _, hr := range hostileRequests() {
		for _, ver := range []string{"v1.0", "v1.1"} {
			target := "/" + ver + expand(hr.target)
			code, hdr, body := sendRawHTTP(t, s.socket, hr.method, target, expand(hr.body), hr.header...)
			if err := checkFaultBody(ver, code, hdr.Get("Content-Type"), body); err != nil {
				t.Errorf("%s %.120s: %v", hr.method, target, err)
			}
		}
	}

	select {
	case <-agentProc.Done():
		t.Fatalf("agent exited: %v", agentProc.Err())
	default:
	}
	if after := storedOf(ctx, t, c, netID); !reflect.DeepEqual(after, before) {
		t.Errorf("stored state changed:\nbefore %+v\nafter  %+v", before, after)
	}
	// A write after the matrix goes through on the same connection...
	probe := must(c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "probe"}))
	if err := c.DeleteNetwork(ctx, "demo", probe); err != nil {
		t.Fatal(err)
	}
	// ...which never dropped: ovsdb-server logs a bad message and the drop.
	for _, line := range strings.Split(readFile(t, dbLog)[logStart:], "\n") {
		if (strings.Contains(line, "|WARN|") || strings.Contains(line, "|ERR|")) &&
			(strings.Contains(line, "jsonrpc") || strings.Contains(line, "reconnect") || strings.Contains(line, "connection")) {
			t.Errorf("ovsdb-server logged a connection problem: %s", line)
		}
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, db := range st.Databases {
		if db.Name == "quantum" && !db.Connected {
			t.Errorf("agent reports the Quantum DB not connected: %+v", st)
		}
	}
	for _, bad := range []string{"panic", "send on closed channel", "OVSDB connection back"} {
		if strings.Contains(agentProc.Log.String(), bad) {
			t.Errorf("agent log has %q", bad)
		}
	}
}

// stored is what a request could change, as the API shows it.
type stored struct {
	Networks []client.Network
	Ports    []client.Port
	Counts   int
}

func storedOf(ctx context.Context, t *testing.T, c *client.Client, netID string) stored {
	t.Helper()
	nets, err := c.ListNetworksDetail(ctx, "demo", nil)
	if err != nil {
		t.Fatal(err)
	}
	ports, err := c.ListPorts(ctx, "demo", netID, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range nets {
		nets[i].OpStatus = "" // moves with the reconciler, not with requests
	}
	return stored{Networks: nets, Ports: ports, Counts: st.Networks}
}

// sendRawHTTP writes one HTTP/1.1 request to the agent's socket as it is
// and reads the answer.
func sendRawHTTP(t *testing.T, socket, method, target, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("unix", socket, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: %d\r\n", method, target, len(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		fmt.Fprintf(&req, "%s: %s\r\n", hdr[i], hdr[i+1])
	}
	req.WriteString("\r\n" + body)
	if _, err := conn.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %.80s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// checkFaultBody: a 4xx whose body is one fault of the version, in JSON
// or XML: v1.0 {"<name>":{"code":<status>,...}}, v1.1 QuantumError.
func checkFaultBody(ver string, code int, ctype string, body []byte) error {
	if code < 400 || code > 499 {
		return fmt.Errorf("status %d, want a 4xx: %s", code, body)
	}
	key, fields, err := faultFields(ctype, body)
	if err != nil {
		return fmt.Errorf("status %d: %v: %q", code, err, body)
	}
	switch {
	case ver == "v1.1" && (key != "QuantumError" || fields["type"] == ""):
		return fmt.Errorf("not a v1.1 fault: %s", body)
	case ver == "v1.0" && fields["code"] != fmt.Sprint(code):
		return fmt.Errorf("not a v1.0 fault of status %d: %s", code, body)
	case fields["message"] == "":
		return fmt.Errorf("fault without a message: %s", body)
	}
	return nil
}

// faultFields parses a fault body into its key and its fields as text.
func faultFields(ctype string, body []byte) (string, map[string]string, error) {
	out := map[string]string{}
	if ctype == "application/xml" {
		var f struct {
			XMLName xml.Name
			Code    string `xml:"code,attr"`
			Type    string `xml:"type"`
			Message string `xml:"message"`
		}
		if err := xml.Unmarshal(body, &f); err != nil {
			return "", nil, err
		}
		out["code"], out["type"], out["message"] = f.Code, f.Type, f.Message
		return f.XMLName.Local, out, nil
	}
	if ctype != "application/json" {
		return "", nil, fmt.Errorf("Content-Type %q", ctype)
	}
	var doc map[string]map[string]any
	if err := json.Unmarshal(body, &doc); err != nil || len(doc) != 1 {
		return "", nil, fmt.Errorf("not a one-key JSON fault (%v)", err)
	}
	for k, v := range doc {
		for fk, fv := range v {
			out[fk] = fmt.Sprint(fv)
		}
		return k, out, nil
	}
	return "", nil, nil
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
