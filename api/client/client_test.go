package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testfake"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

const base = "/v1.1/tenants/t1"

// TestRequests checks, per method, the request the client sends and how it
// reads the agent's answer.
func TestRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		route     string // "METHOD path" the fake answers
		reply     testfake.Reply
		call      func(c *client.Client) (any, error)
		wantQuery string
		wantBody  string // JSON, compared structurally; "" = no body
		want      any
	}{
		{
			name:  "ListNetworks",
			route: "GET " + base + "/networks",
			reply: testfake.Reply{Status: 200, Body: `{"networks":[{"id":"n1"},{"id":"n2"}]}`},
			call: func(c *client.Client) (any, error) {
				return c.ListNetworks(ctx, "t1", map[string]string{"name": "a b", "port-state": "ACTIVE"})
			},
			wantQuery: "name=a+b&port-state=ACTIVE",
			want:      []client.Network{{ID: "n1"}, {ID: "n2"}},
		},
		{
			name:  "ListNetworksDetail",
			route: "GET " + base + "/networks/detail",
			reply: testfake.Reply{Status: 200, Body: `{"networks":[{"id":"n1","name":"net1","op-status":"UP","network-type":"vlan","physical-network":"physnet1","segmentation-id":101,"future-key":true}]}`},
			call: func(c *client.Client) (any, error) {
				return c.ListNetworksDetail(ctx, "t1", nil)
			},
			want: []client.Network{{ID: "n1", Name: "net1", OpStatus: "UP", NetworkType: "vlan", PhysicalNetwork: "physnet1", SegmentationID: 101}},
		},
		{
			name:  "GetNetwork",
			route: "GET " + base + "/networks/n1/detail",
			reply: testfake.Reply{Status: 200, Body: `{"network":{"id":"n1","name":"net1","ports":[{"id":"p1","state":"ACTIVE","op-status":"UP","attachment":{"id":"vif-1","status":"UP"}},{"id":"p2","state":"DOWN","attachment":{}}]}}`},
			call: func(c *client.Client) (any, error) {
				return c.GetNetwork(ctx, "t1", "n1")
			},
			want: &client.Network{ID: "n1", Name: "net1", Ports: []client.Port{
				{ID: "p1", State: "ACTIVE", OpStatus: "UP", Attachment: &client.Attachment{ID: "vif-1", Status: "UP"}},
				{ID: "p2", State: "DOWN"},
			}},
		},
		{
			name:  "CreateNetwork v1.1 202",
			route: "POST " + base + "/networks",
			reply: testfake.Reply{Status: 202, Body: `{"network":{"id":"n9"}}`},
			call: func(c *client.Client) (any, error) {
				return c.CreateNetwork(ctx, "t1", client.NetworkRequest{Name: "net1"})
			},
			wantBody: `{"network":{"name":"net1"}}`,
			want:     "n9",
		},
		{
			name:  "CreateNetwork provider",
			route: "POST " + base + "/networks",
			reply: testfake.Reply{Status: 200, Body: `{"network":{"id":"n9"}}`},
			call: func(c *client.Client) (any, error) {
				return c.CreateNetwork(ctx, "t1", client.NetworkRequest{Name: "net1", NetworkType: "vlan", PhysicalNetwork: "physnet1", SegmentationID: 42})
			},
			wantBody: `{"network":{"name":"net1","network-type":"vlan","physical-network":"physnet1","segmentation-id":42}}`,
			want:     "n9",
		},
		{
			name:  "UpdateNetwork",
			route: "PUT " + base + "/networks/n1",
			reply: testfake.Reply{Status: 204, Body: ""},
			call: func(c *client.Client) (any, error) {
				return nil, c.UpdateNetwork(ctx, "t1", "n1", "renamed")
			},
			wantBody: `{"network":{"name":"renamed"}}`,
		},
		{
			name:  "DeleteNetwork",
			route: "DELETE " + base + "/networks/n1",
			reply: testfake.Reply{Status: 204, Body: ""},
			call: func(c *client.Client) (any, error) {
				return nil, c.DeleteNetwork(ctx, "t1", "n1")
			},
		},
		{
			name:  "ListPorts",
			route: "GET " + base + "/networks/n1/ports",
			reply: testfake.Reply{Status: 200, Body: `{"ports":[{"id":"p1"}]}`},
			call: func(c *client.Client) (any, error) {
				return c.ListPorts(ctx, "t1", "n1", map[string]string{"state": "DOWN"})
			},
			wantQuery: "state=DOWN",
			want:      []client.Port{{ID: "p1"}},
		},
		{
			name:  "ListPortsDetail",
			route: "GET " + base + "/networks/n1/ports/detail",
			reply: testfake.Reply{Status: 200, Body: `{"ports":[{"id":"p1","state":"ACTIVE","attachment":{"id":"vif-1"}},{"id":"p2","state":"DOWN"}]}`},
			call: func(c *client.Client) (any, error) {
				return c.ListPortsDetail(ctx, "t1", "n1", nil)
			},
			want: []client.Port{{ID: "p1", State: "ACTIVE", Attachment: &client.Attachment{ID: "vif-1"}}, {ID: "p2", State: "DOWN"}},
		},
		{
			name:  "GetPort",
			route: "GET " + base + "/networks/n1/ports/p1/detail",
			reply: testfake.Reply{Status: 200, Body: `{"port":{"id":"p1","state":"ACTIVE","op-status":"DOWN","attachment":{"id":"vif-1","status":"DOWN","reason":"device tap1 absent"}}}`},
			call: func(c *client.Client) (any, error) {
				return c.GetPort(ctx, "t1", "n1", "p1")
			},
			want: &client.Port{ID: "p1", State: "ACTIVE", OpStatus: "DOWN", Attachment: &client.Attachment{ID: "vif-1", Status: "DOWN", Reason: "device tap1 absent"}},
		},
		{
			name:  "CreatePort with state",
			route: "POST " + base + "/networks/n1/ports",
			reply: testfake.Reply{Status: 202, Body: `{"port":{"id":"p7"}}`},
			call: func(c *client.Client) (any, error) {
				return c.CreatePort(ctx, "t1", "n1", "ACTIVE")
			},
			wantBody: `{"port":{"state":"ACTIVE"}}`,
			want:     "p7",
		},
		{
			name:  "CreatePort default state sends no body",
			route: "POST " + base + "/networks/n1/ports",
			reply: testfake.Reply{Status: 202, Body: `{"port":{"id":"p7"}}`},
			call: func(c *client.Client) (any, error) {
				return c.CreatePort(ctx, "t1", "n1", "")
			},
			want: "p7",
		},
		{
			name:  "UpdatePort",
			route: "PUT " + base + "/networks/n1/ports/p1",
			reply: testfake.Reply{Status: 204, Body: ""},
			call: func(c *client.Client) (any, error) {
				return nil, c.UpdatePort(ctx, "t1", "n1", "p1", "DOWN")
			},
			wantBody: `{"port":{"state":"DOWN"}}`,
		},
		{
			name:  "DeletePort",
			route: "DELETE " + base + "/networks/n1/ports/p1",
			reply: testfake.Reply{Status: 204, Body: ""},
			call: func(c *client.Client) (any, error) {
				return nil, c.DeletePort(ctx, "t1", "n1", "p1")
			},
		},
		{
			name:  "GetAttachment",
			route: "GET " + base + "/networks/n1/ports/p1/attachment",
			reply: testfake.Reply{Status: 200, Body: `{"attachment":{"id":"vif-1","device":"tap1","mac":"fa:16:3e:00:00:01","vm-id":"vm-1","host":"hv1","status":"UP"}}`},
			call: func(c *client.Client) (any, error) {
				return c.GetAttachment(ctx, "t1", "n1", "p1")
			},
			want: &client.Attachment{ID: "vif-1", PortID: "p1", Device: "tap1", MAC: "fa:16:3e:00:00:01", VMID: "vm-1", Host: "hv1", Status: "UP"},
		},
		{
			name:  "GetAttachment empty port",
			route: "GET " + base + "/networks/n1/ports/p1/attachment",
			reply: testfake.Reply{Status: 200, Body: `{"attachment":{}}`},
			call: func(c *client.Client) (any, error) {
				return c.GetAttachment(ctx, "t1", "n1", "p1")
			},
			want: (*client.Attachment)(nil),
		},
		{
			name:  "WaitAttachment",
			route: "GET " + base + "/networks/n1/ports/p1/attachment",
			reply: testfake.Reply{Status: 200, Body: `{"attachment":{"id":"vif-1","status":"UP"}}`},
			call: func(c *client.Client) (any, error) {
				return c.WaitAttachment(ctx, "t1", "n1", "p1", "UP", 1500*time.Millisecond)
			},
			wantQuery: "timeout=2&wait=UP",
			want:      &client.Attachment{ID: "vif-1", PortID: "p1", Status: "UP"},
		},
		{
			name:  "Plug",
			route: "PUT " + base + "/networks/n1/ports/p1/attachment",
			reply: testfake.Reply{Status: 204, Body: ""},
			call: func(c *client.Client) (any, error) {
				return nil, c.Plug(ctx, "t1", "n1", "p1", client.PlugRequest{ID: "vif-1", Device: "tap1", MAC: "fa:16:3e:00:00:01", VMID: "vm-1", Host: "hv1"})
			},
			wantBody: `{"attachment":{"id":"vif-1","device":"tap1","mac":"fa:16:3e:00:00:01","vm-id":"vm-1","host":"hv1"}}`,
		},
		{
			name:  "Plug id only",
			route: "PUT " + base + "/networks/n1/ports/p1/attachment",
			reply: testfake.Reply{Status: 204, Body: ""},
			call: func(c *client.Client) (any, error) {
				return nil, c.Plug(ctx, "t1", "n1", "p1", client.PlugRequest{ID: "vif-1"})
			},
			wantBody: `{"attachment":{"id":"vif-1"}}`,
		},
		{
			name:  "Unplug",
			route: "DELETE " + base + "/networks/n1/ports/p1/attachment",
			reply: testfake.Reply{Status: 204, Body: ""},
			call: func(c *client.Client) (any, error) {
				return nil, c.Unplug(ctx, "t1", "n1", "p1")
			},
		},
		{
			name:  "ListAttachments",
			route: "GET " + base + "/networks/n1/attachments",
			reply: testfake.Reply{Status: 200, Body: `{"attachments":[{"id":"vif-1","port-id":"p1","status":"UP"}]}`},
			call: func(c *client.Client) (any, error) {
				return c.ListAttachments(ctx, "t1", "n1")
			},
			want: []client.Attachment{{ID: "vif-1", PortID: "p1", Status: "UP"}},
		},
		{
			name:  "PlugIntoNetwork",
			route: "POST " + base + "/networks/n1/attachments",
			reply: testfake.Reply{Status: 202, Body: `{"port":{"id":"p3","state":"ACTIVE","attachment":{"id":"vif-3"}}}`},
			call: func(c *client.Client) (any, error) {
				return c.PlugIntoNetwork(ctx, "t1", "n1", client.PlugRequest{ID: "vif-3", Device: "tap3"})
			},
			wantBody: `{"attachment":{"id":"vif-3","device":"tap3"}}`,
			want:     "p3",
		},
		{
			name:  "Versions",
			route: "GET /",
			reply: testfake.Reply{Status: 200, Body: `{"versions":[{"id":"v1.0","status":"CURRENT","links":[{"rel":"self","href":"http://x/v1.0"}]},{"id":"v1.1","status":"PROPOSED"}]}`},
			call: func(c *client.Client) (any, error) {
				return c.Versions(ctx)
			},
			want: []client.Version{{ID: "v1.0", Status: "CURRENT", Links: []client.Link{{Rel: "self", Href: "http://x/v1.0"}}}, {ID: "v1.1", Status: "PROPOSED"}},
		},
		{
			name:  "Extensions",
			route: "GET /v1.1/extensions",
			reply: testfake.Reply{Status: 200, Body: `{"extensions":[{"name":"Provider","alias":"provider","description":"d","namespace":"http://docs.openstack.org/ext/provider/api/v1.0","updated":"2026-11-23T00:00:00Z","links":[]}]}`},
			call: func(c *client.Client) (any, error) {
				return c.Extensions(ctx)
			},
			want: []client.Extension{{Name: "Provider", Alias: "provider", Description: "d", Namespace: "http://docs.openstack.org/ext/provider/api/v1.0", Updated: "2026-11-23T00:00:00Z", Links: []client.Link{}}},
		},
		{
			name:  "Extension",
			route: "GET /v1.1/extensions/provider",
			reply: testfake.Reply{Status: 200, Body: `{"name":"Provider","alias":"provider"}`},
			call: func(c *client.Client) (any, error) {
				return c.Extension(ctx, "provider")
			},
			want: &client.Extension{Name: "Provider", Alias: "provider"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path, _ := strings.Cut(tt.route, " ")
			f := testfake.NewAgent(t, map[string]testfake.Reply{tt.route: tt.reply})
			got, err := tt.call(client.New(f.Socket))
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result:\n got %#v\nwant %#v", got, tt.want)
			}
			reqs := f.Requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1: %+v", len(reqs), reqs)
			}
			r := reqs[0]
			if r.Method != method || r.Path != path {
				t.Errorf("request %s %s, want %s %s", r.Method, r.Path, method, path)
			}
			if r.Query != tt.wantQuery {
				t.Errorf("query %q, want %q", r.Query, tt.wantQuery)
			}
			if r.Accept != "application/json" {
				t.Errorf("Accept %q, want application/json", r.Accept)
			}
			checkBody(t, r, tt.wantBody)
		})
	}
}

func checkBody(t *testing.T, r testfake.Request, want string) {
	t.Helper()
	if want == "" {
		if r.Body != "" {
			t.Errorf("body %q, want none", r.Body)
		}
		return
	}
	if r.ContentType != "application/json" {
		t.Errorf("Content-Type %q, want application/json", r.ContentType)
	}
	var got, exp any
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
		t.Fatalf("request body %q: %v", r.Body, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("body %s, want %s", r.Body, want)
	}
}

func TestAPIVersionV10(t *testing.T) {
	f := testfake.NewAgent(t, map[string]testfake.Reply{
		"POST /v1.0/tenants/t1/networks": {Status: 200, Body: `{"network":{"id":"n1"}}`},
	})
	c := client.New(f.Socket, client.WithAPIVersion(client.V10))
	id, err := c.CreateNetwork(context.Background(), "t1", client.NetworkRequest{Name: "x"})
	if err != nil || id != "n1" {
		t.Fatalf("CreateNetwork = %q, %v", id, err)
	}
	if c.APIVersion() != client.V10 {
		t.Errorf("APIVersion = %s", c.APIVersion())
	}
}

func TestUnsupportedVersion(t *testing.T) {
	c := client.New(deadSocket(t), client.WithAPIVersion("v2.0"))
	_, err := c.ListNetworks(context.Background(), "t1", nil)
	if err == nil || !strings.Contains(err.Error(), "unsupported API version") {
		t.Fatalf("err = %v", err)
	}
}

// deadSocket is a socket path nobody listens on.
func deadSocket(t *testing.T) string { return filepath.Join(testutil.ShortDir(t), "q.sock") }

func unixHTTPClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

func TestPathEscaping(t *testing.T) {
	f := testfake.NewAgent(t, map[string]testfake.Reply{})
	c := client.New(f.Socket)
	_ = c.DeleteNetwork(context.Background(), "a/b", "n 1")
	r := f.Requests()
	// The server sees the decoded path; escaping kept the slash inside one
	// segment, so the route differs from /tenants/a/b/...
	if len(r) != 1 || r[0].Path != "/v1.1/tenants/a/b/networks/n 1" {
		t.Fatalf("requests %+v", r)
	}
}

func TestMissingIDs(t *testing.T) {
	ctx := context.Background()
	c := client.New(deadSocket(t))
	cases := map[string]error{
		"tenant":  c.DeleteNetwork(ctx, "", "n1"),
		"network": c.DeleteNetwork(ctx, "t1", ""),
		"port":    c.DeletePort(ctx, "t1", "n1", ""),
		"attach":  c.Plug(ctx, "t1", "n1", "p1", client.PlugRequest{}),
	}
	for name, err := range cases {
		if err == nil || !strings.Contains(err.Error(), "required") {
			t.Errorf("%s: err = %v, want a 'required' error", name, err)
		}
	}
}

func TestUnreachable(t *testing.T) {
	ctx := context.Background()
	t.Run("no socket", func(t *testing.T) {
		path := filepath.Join(testutil.ShortDir(t), "q.sock")
		_, err := client.New(path).ListNetworks(ctx, "t1", nil)
		checkUnreachable(t, err, path)
	})
	t.Run("refused", func(t *testing.T) {
		path := filepath.Join(testutil.ShortDir(t), "q.sock")
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		l.SetUnlinkOnClose(false) // leave a dead socket file behind
		l.Close()
		_, err = client.New(path).ListNetworks(ctx, "t1", nil)
		checkUnreachable(t, err, path)
	})
}

func checkUnreachable(t *testing.T, err error, path string) {
	t.Helper()
	var ue *client.UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %T %v, want *UnreachableError", err, err)
	}
	want := "cannot reach quantum-agent at " + path + ": is it running?"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q, want prefix %q", err.Error(), want)
	}
}

func TestTimeout(t *testing.T) {
	f := testfake.NewAgent(t, nil)
	l, err := net.Listen("unix", f.Socket+"2")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// A listener that accepts and never answers: an agent that is stuck.
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	c := client.New(f.Socket+"2", client.WithTimeout(50*time.Millisecond))
	_, err = c.ListNetworks(context.Background(), "t1", nil)
	if err == nil || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("err = %v, want a timeout naming the agent", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err does not wrap DeadlineExceeded: %v", err)
	}
}

func TestCallerCancel(t *testing.T) {
	f := testfake.NewAgent(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := client.New(f.Socket).ListNetworks(ctx, "t1", nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestBaseURLOption(t *testing.T) {
	// WithHTTPClient + WithBaseURL: the caller owns the transport.
	f := testfake.NewAgent(t, map[string]testfake.Reply{"GET /": {Status: 200, Body: `{"versions":[{"id":"v1.1","status":"CURRENT"}]}`}})
	c := client.New("/nonexistent", client.WithBaseURL("http://example.invalid/"), client.WithTimeout(2*time.Second),
		client.WithHTTPClient(unixHTTPClient(f.Socket)))
	v, err := c.Versions(context.Background())
	if err != nil || len(v) != 1 || v[0].ID != "v1.1" {
		t.Fatalf("Versions = %v, %v", v, err)
	}
	if c.Target() != "http://example.invalid" {
		t.Errorf("Target = %q", c.Target())
	}
}
