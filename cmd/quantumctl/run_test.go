package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testfake"
)

const tbase = "/v1.1/tenants/default"

// runCtl runs quantumctl against sock with a fixed environment (no
// QUANTUM_* leaking in from the developer's shell).
func runCtl(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	code = a.run(context.Background(), args)
	return code, out.String(), errb.String()
}

func TestNetListTable(t *testing.T) {
	f := testfake.NewAgent(t, map[string]testfake.Reply{
		"GET " + tbase + "/networks/detail": {Status: 200, Body: `{"networks":[
			{"id":"n1","name":"net1","op-status":"UP","network-type":"vlan","physical-network":"physnet1","segmentation-id":101},
			{"id":"n2-long-id","name":"n2","op-status":"DOWN"}]}`},
	})
	code, out, errs := runCtl(t, nil, "--socket", f.Socket, "net-list")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	want := "" +
		"ID          NAME  OP-STATUS  TYPE  PHYSICAL-NETWORK  SEGMENTATION-ID\n" +
		"n1          net1  UP         vlan  physnet1          101\n" +
		"n2-long-id  n2    DOWN       -     -                 -\n"
	if out != want {
		t.Errorf("table:\n%s\nwant:\n%s", out, want)
	}
}

func TestNetListJSONAndFilters(t *testing.T) {
	f := testfake.NewAgent(t, map[string]testfake.Reply{
		"GET " + tbase + "/networks/detail": {Status: 200, Body: `{"networks":[{"id":"n1","name":"net1","future":1}]}`},
	})
	// Global flags after the command, and filters.
	code, out, errs := runCtl(t, nil, "net-list", "--socket", f.Socket, "-o", "json",
		"--filter", "name=net1", "--filter", "has-attachment=true")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var got map[string][]map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	want := map[string][]map[string]any{"networks": {{"id": "n1", "name": "net1"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("json %v, want %v", got, want)
	}
	if q := f.Requests()[0].Query; q != "has-attachment=true&name=net1" {
		t.Errorf("query %q", q)
	}
}

func TestEmptyListJSON(t *testing.T) {
	f := testfake.NewAgent(t, map[string]testfake.Reply{"GET " + tbase + "/networks/detail": {Status: 200, Body: `{"networks":[]}`}})
	_, out, _ := runCtl(t, nil, "--socket", f.Socket, "-o", "json", "net-list")
	if strings.TrimSpace(out) != "{\n  \"networks\": []\n}" {
		t.Errorf("got %q", out)
	}
}

func TestEnvironment(t *testing.T) {
	f := testfake.NewAgent(t, map[string]testfake.Reply{
		"DELETE /v1.0/tenants/acme/networks/n1": {Status: 204, Body: ""},
	})
	env := map[string]string{"QUANTUM_SOCKET": f.Socket, "QUANTUM_TENANT": "acme"}
	code, out, errs := runCtl(t, env, "--api", "v1.0", "net-delete", "n1")
	if code != 0 || out != "Deleted network n1\n" {
		t.Fatalf("exit %d, out %q, err %q", code, out, errs)
	}
}

func TestRunFromProcessEnv(t *testing.T) {
	f := testfake.NewAgent(t, map[string]testfake.Reply{"GET /v1.1/tenants/t9/networks/detail": {Status: 200, Body: `{"networks":[]}`}})
	t.Setenv("QUANTUM_SOCKET", f.Socket)
	t.Setenv("QUANTUM_TENANT", "t9")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"net-list"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

// TestCommands checks each command's request and its table and JSON output.
func TestCommands(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		route    string
		reply    testfake.Reply
		wantBody string
		wantOut  string // table output, exactly
		wantJSON string // -o json output, compared as JSON; "" = prints nothing
	}{
		{
			name: "net-create", args: []string{"net-create", "web", "--type", "vlan", "--physical-network", "physnet1", "--segmentation-id", "7"},
			route: "POST " + tbase + "/networks", reply: testfake.Reply{Status: 202, Body: `{"network":{"id":"n1"}}`},
			wantBody: `{"network":{"name":"web","network-type":"vlan","physical-network":"physnet1","segmentation-id":7}}`,
			wantOut:  "Created network n1 (web) for tenant default\n",
			wantJSON: `{"network":{"id":"n1"}}`,
		},
		{
			name: "net-show", args: []string{"net-show", "n1"},
			route: "GET " + tbase + "/networks/n1/detail",
			reply: testfake.Reply{Status: 200, Body: `{"network":{"id":"n1","name":"web","op-status":"UP","ports":[{"id":"p1","state":"ACTIVE","op-status":"UP","attachment":{"id":"vif-1","status":"UP"}},{"id":"p2","state":"DOWN"}]}}`},
			wantOut: "" +
				"ID                n1\n" +
				"Name              web\n" +
				"Op-status         UP\n" +
				"Network type      -\n" +
				"Physical network  -\n" +
				"Segmentation id   -\n" +
				"MTU               -\n" +
				"Ports             2\n" +
				"\n" +
				"PORT  STATE   OP-STATUS  ATTACHMENT  STATUS\n" +
				"p1    ACTIVE  UP         vif-1       UP\n" +
				"p2    DOWN    -          -           -\n",
			wantJSON: `{"network":{"id":"n1","name":"web","op-status":"UP","ports":[{"id":"p1","state":"ACTIVE","op-status":"UP","attachment":{"id":"vif-1","status":"UP"}},{"id":"p2","state":"DOWN"}]}}`,
		},
		{
			name: "net-update", args: []string{"net-update", "n1", "new"},
			route: "PUT " + tbase + "/networks/n1", reply: testfake.Reply{Status: 204, Body: ""},
			wantBody: `{"network":{"name":"new"}}`,
			wantOut:  "Renamed network n1 to new\n",
		},
		{
			name: "port-list", args: []string{"port-list", "n1"},
			route: "GET " + tbase + "/networks/n1/ports/detail",
			reply: testfake.Reply{Status: 200, Body: `{"ports":[{"id":"p1","state":"ACTIVE","attachment":{"id":"vif-1","status":"PROVISIONING"}}]}`},
			wantOut: "" +
				"PORT  STATE   OP-STATUS  ATTACHMENT  STATUS\n" +
				"p1    ACTIVE  -          vif-1       PROVISIONING\n",
			wantJSON: `{"ports":[{"id":"p1","state":"ACTIVE","attachment":{"id":"vif-1","status":"PROVISIONING"}}]}`,
		},
		{
			name: "port-create lower-case state", args: []string{"port-create", "n1", "--state", "active"},
			route: "POST " + tbase + "/networks/n1/ports", reply: testfake.Reply{Status: 202, Body: `{"port":{"id":"p5"}}`},
			wantBody: `{"port":{"state":"ACTIVE"}}`,
			wantOut:  "Created port p5 on network n1\n",
			wantJSON: `{"port":{"id":"p5"}}`,
		},
		{
			name: "port-show", args: []string{"port-show", "n1", "p1"},
			route: "GET " + tbase + "/networks/n1/ports/p1/detail",
			reply: testfake.Reply{Status: 200, Body: `{"port":{"id":"p1","state":"ACTIVE","op-status":"DOWN","attachment":{"id":"vif-1","status":"FAILED","reason":"no such device tap1","device":"tap1"}}}`},
			wantOut: "" +
				"ID          p1\n" +
				"Network     n1\n" +
				"State       ACTIVE\n" +
				"Op-status   DOWN\n" +
				"Attachment  vif-1\n" +
				"Status      FAILED\n" +
				"Reason      no such device tap1\n",
			wantJSON: `{"port":{"id":"p1","state":"ACTIVE","op-status":"DOWN","attachment":{"id":"vif-1","status":"FAILED","reason":"no such device tap1","device":"tap1"}}}`,
		},
		{
			name: "port-update", args: []string{"port-update", "n1", "p1", "down"},
			route: "PUT " + tbase + "/networks/n1/ports/p1", reply: testfake.Reply{Status: 204, Body: ""},
			wantBody: `{"port":{"state":"DOWN"}}`,
			wantOut:  "Set port p1 on network n1 to DOWN\n",
		},
		{
			name: "port-delete", args: []string{"port-delete", "n1", "p1"},
			route: "DELETE " + tbase + "/networks/n1/ports/p1", reply: testfake.Reply{Status: 204, Body: ""},
			wantOut: "Deleted port p1 on network n1\n",
		},
		{
			name: "plug", args: []string{"plug", "n1", "p1", "vif-1", "--device", "tap1", "--mac", "fa:16:3e:00:00:01", "--vm-id", "vm-1", "--host", "hv1"},
			route: "PUT " + tbase + "/networks/n1/ports/p1/attachment", reply: testfake.Reply{Status: 204, Body: ""},
			wantBody: `{"attachment":{"id":"vif-1","device":"tap1","mac":"fa:16:3e:00:00:01","vm-id":"vm-1","host":"hv1"}}`,
			wantOut:  "Plugged vif-1 into port p1 on network n1\n",
		},
		{
			name: "unplug", args: []string{"unplug", "n1", "p1"},
			route: "DELETE " + tbase + "/networks/n1/ports/p1/attachment", reply: testfake.Reply{Status: 204, Body: ""},
			wantOut: "Unplugged port p1 on network n1\n",
		},
		{
			name: "attachment-show", args: []string{"attachment-show", "n1", "p1"},
			route: "GET " + tbase + "/networks/n1/ports/p1/attachment",
			reply: testfake.Reply{Status: 200, Body: `{"attachment":{"id":"vif-1","status":"UP","host":"hv1"}}`},
			wantOut: "" +
				"ID      vif-1\n" +
				"Port    p1\n" +
				"Status  UP\n" +
				"Device  -\n" +
				"MAC     -\n" +
				"VM id   -\n" +
				"Host    hv1\n",
			wantJSON: `{"attachment":{"id":"vif-1","port-id":"p1","status":"UP","host":"hv1"}}`,
		},
		{
			name: "attachment-show empty", args: []string{"attachment-show", "n1", "p1"},
			route: "GET " + tbase + "/networks/n1/ports/p1/attachment", reply: testfake.Reply{Status: 200, Body: `{"attachment":{}}`},
			wantOut:  "Port p1 on network n1 has no attachment\n",
			wantJSON: `{"attachment":{}}`,
		},
		{
			name: "att-list", args: []string{"att-list", "n1"},
			route: "GET " + tbase + "/networks/n1/attachments",
			reply: testfake.Reply{Status: 200, Body: `{"attachments":[{"id":"vif-1","port-id":"p1","status":"UP"},{"id":"vif-22","port-id":"p2","status":"DOWN","reason":"link down"}]}`},
			wantOut: "" +
				"ATTACHMENT  PORT  STATUS  REASON\n" +
				"vif-1       p1    UP      -\n" +
				"vif-22      p2    DOWN    link down\n",
			wantJSON: `{"attachments":[{"id":"vif-1","port-id":"p1","status":"UP"},{"id":"vif-22","port-id":"p2","status":"DOWN","reason":"link down"}]}`,
		},
		{
			name: "net-plug", args: []string{"net-plug", "n1", "vif-3", "--device", "tap3"},
			route:    "POST " + tbase + "/networks/n1/attachments",
			reply:    testfake.Reply{Status: 202, Body: `{"port":{"id":"p3","state":"ACTIVE","attachment":{"id":"vif-3"}}}`},
			wantBody: `{"attachment":{"id":"vif-3","device":"tap3"}}`,
			wantOut:  "Plugged vif-3 into port p3 on network n1\n",
			wantJSON: `{"port":{"id":"p3","attachment":{"id":"vif-3"}}}`,
		},
		{
			name: "ext-list", args: []string{"ext-list"},
			route: "GET /v1.1/extensions",
			reply: testfake.Reply{Status: 200, Body: `{"extensions":[{"name":"Provider","alias":"provider","description":"Provider networks","namespace":"ns","updated":"2026-11-23T00:00:00Z","links":[]}]}`},
			wantOut: "" +
				"ALIAS     NAME      UPDATED               DESCRIPTION\n" +
				"provider  Provider  2026-11-23T00:00:00Z  Provider networks\n",
			wantJSON: `{"extensions":[{"name":"Provider","alias":"provider","description":"Provider networks","namespace":"ns","updated":"2026-11-23T00:00:00Z","links":[]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testfake.NewAgent(t, map[string]testfake.Reply{tt.route: tt.reply})
			args := append([]string{"--socket", f.Socket}, tt.args...)
			code, out, errs := runCtl(t, nil, args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			if out != tt.wantOut {
				t.Errorf("table output:\n%s\nwant:\n%s", out, tt.wantOut)
			}
			reqs := f.Requests()
			method, path, _ := strings.Cut(tt.route, " ")
			if len(reqs) != 1 || reqs[0].Method != method || reqs[0].Path != path {
				t.Fatalf("requests %+v, want one %s", reqs, tt.route)
			}
			checkJSON(t, "request body", reqs[0].Body, tt.wantBody)

			code, out, errs = runCtl(t, nil, append(args, "-o", "json")...)
			if code != 0 {
				t.Fatalf("json: exit %d, stderr %q", code, errs)
			}
			checkJSON(t, "json output", out, tt.wantJSON)
		})
	}
}

func checkJSON(t *testing.T, what, got, want string) {
	t.Helper()
	if want == "" {
		if got != "" {
			t.Errorf("%s %q, want none", what, got)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s is not JSON: %v: %q", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no command", nil, "usage: quantumctl"},
		{"unknown command", []string{"net-frob"}, `unknown command "net-frob"`},
		{"did you mean", []string{"net-lst"}, `unknown command "net-lst": did you mean net-list?`},
		{"did you mean by prefix", []string{"attach"}, `did you mean attachment-show?`},
		{"unknown global flag", []string{"--bogus", "net-list"}, "unknown flag: --bogus"},
		{"unknown command flag", []string{"net-list", "--state", "x"}, "unknown flag: --state"},
		{"too few args", []string{"net-show"}, "net-show wants NET, got 0 argument(s)"},
		{"too many args", []string{"net-delete", "a", "b"}, "net-delete wants NET, got 2 argument(s)"},
		{"args to net-list", []string{"net-list", "x"}, "net-list takes no arguments"},
		{"bad output", []string{"-o", "yaml", "net-list"}, `invalid argument "yaml" for "-o, --output" flag: want table or json`},
		{"bad api", []string{"--api", "v2", "net-list"}, `invalid argument "v2" for "--api" flag: want v1.0 or v1.1`},
		{"bad timeout", []string{"net-list", "--timeout", "5"}, `invalid argument "5" for "--timeout" flag: want a duration like 5s`},
		{"bad wait timeout", []string{"plug", "n", "p", "i", "--wait", "--wait-timeout", "-1s"}, `"-1s" for "--wait-timeout" flag: want a positive duration`},
		{"bad wait", []string{"attachment-show", "n1", "p1", "--wait", "up-ish"}, `invalid argument "up-ish" for "--wait" flag: want UP, DOWN, PROVISIONING or FAILED`},
		{"bad wait before a flag", []string{"plug", "--wait", "n1", "p1", "vif"}, `invalid argument "n1" for "--wait" flag`},
		{"quiet on a list", []string{"net-list", "-q"}, "unknown shorthand flag: 'q' in -q"},
		{"bad state", []string{"port-update", "n1", "p1", "UP"}, `port state must be ACTIVE or DOWN, not "UP"`},
		{"bad create state", []string{"port-create", "n1", "--state", "on"}, `invalid argument "on" for "--state" flag: want ACTIVE or DOWN`},
		{"bad filter", []string{"net-list", "--filter", "name"}, `invalid argument "name" for "--filter" flag: want key=value`},
		{"bad segmentation id", []string{"net-create", "x", "--segmentation-id", "abc"}, `invalid argument "abc" for "--segmentation-id" flag: want a whole number like 101`},
		{"help of unknown", []string{"help", "nope"}, `unknown command "nope"`},
		{"help of a typo", []string{"help", "plgu"}, `unknown command "plgu": did you mean plug?`},
		{"help of two", []string{"help", "plug", "unplug"}, `help takes at most one command`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testfake.NewAgent(t, nil)
			code, out, errs := runCtl(t, map[string]string{"QUANTUM_SOCKET": f.Socket}, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(errs, tt.want) {
				t.Errorf("stderr %q, want it to contain %q", errs, tt.want)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if r := f.Requests(); len(r) != 0 {
				t.Errorf("a usage error reached the agent: %+v", r)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		api   string
		route string
		reply testfake.Reply
		args  []string
		want  string
	}{
		{"v1.1 network not found", "v1.1", "GET /v1.1/tenants/default/networks/1234/detail",
			testfake.Reply{Status: 404, Body: `{"QuantumError":{"type":"NetworkNotFound","message":"Unable to find a network with the specified identifier.","detail":"Network 1234 could not be found"}}`},
			[]string{"net-show", "1234"}, "quantumctl: Network 1234 could not be found (tenant default)\n"},
		{"v1.0 network not found", "v1.0", "GET /v1.0/tenants/default/networks/1234/detail",
			testfake.Reply{Status: 420, Body: `{"networkNotFound":{"code":420,"message":"Unable to find a network with the specified identifier.","detail":"Network 1234 could not be found"}}`},
			[]string{"net-show", "1234"}, "quantumctl: Network 1234 could not be found (tenant default)\n"},
		{"v1.0 port in use", "v1.0", "DELETE /v1.0/tenants/default/networks/n1/ports/p1",
			testfake.Reply{Status: 432, Body: `{"portInUse":{"code":432,"message":"A resource is currently attached to the logical port","detail":"Port p1 has attachment vif-1"}}`},
			[]string{"port-delete", "n1", "p1"}, "quantumctl: Port p1 has attachment vif-1\n"},
		{"v1.1 already attached", "v1.1", "PUT /v1.1/tenants/default/networks/n1/ports/p2/attachment",
			testfake.Reply{Status: 409, Body: `{"QuantumError":{"type":"AlreadyAttached","message":"The resource is already attached to another port","detail":"The attachment vif-1 is already plugged into port p1"}}`},
			[]string{"plug", "n1", "p2", "vif-1"}, "quantumctl: The attachment vif-1 is already plugged into port p1\n"},
		{"message when no detail", "v1.1", "DELETE /v1.1/tenants/default/networks/n1",
			testfake.Reply{Status: 409, Body: `{"QuantumError":{"type":"NetworkInUse","message":"Unable to remove the network: attachments still plugged."}}`},
			[]string{"net-delete", "n1"}, "quantumctl: Unable to remove the network: attachments still plugged\n"},
		{"extension missing", "v1.1", "GET /nothing", testfake.Reply{},
			[]string{"att-list", "n1"}, "quantumctl: quantum-agent does not offer this operation on API v1.1: no route /v1.1/tenants/default/networks/n1/attachments\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testfake.NewAgent(t, map[string]testfake.Reply{tt.route: tt.reply})
			args := append([]string{"--socket", f.Socket, "--api", tt.api}, tt.args...)
			code, out, errs := runCtl(t, nil, args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if errs != tt.want {
				t.Errorf("stderr %q, want %q", errs, tt.want)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	sock := t.TempDir() + "/none.sock"
	code, _, errs := runCtl(t, nil, "--socket", sock, "net-list")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	want := "quantumctl: cannot reach quantum-agent at " + sock + ": is it running?"
	if !strings.HasPrefix(errs, want) {
		t.Errorf("stderr %q, want prefix %q", errs, want)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, out, errs := runCtl(t, nil, args...)
		if code != 0 || errs != "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "\n  "+c.name) {
				t.Errorf("%v: help does not list %s", args, c.name)
			}
		}
		for _, want := range []string{"\n  help [COMMAND]", "--socket path", "-o, --output format", "--timeout duration"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: help lacks %q:\n%s", args, want, out)
			}
		}
	}
	for _, args := range [][]string{{"help", "plug"}, {"plug", "-h"}, {"plug", "--help"}} {
		code, out, _ := runCtl(t, nil, args...)
		for _, want := range []string{"usage: quantumctl plug NET PORT IFACE_ID", "--vm-id id", "--wait status", "--wait-timeout duration"} {
			if code != 0 || !strings.Contains(out, want) {
				t.Errorf("%v: exit %d, output lacks %q:\n%s", args, code, want, out)
			}
		}
	}
	code, out, _ := runCtl(t, nil, "help", "help")
	if code != 0 || !strings.Contains(out, "usage: quantumctl help [COMMAND]") {
		t.Errorf("help help: exit %d:\n%s", code, out)
	}
}

// TestSingleDashLongFlags: "-socket PATH", as the flag package read it,
// still works; "-o" stays the shorthand it always was.
func TestSingleDashLongFlags(t *testing.T) {
	f := testfake.NewAgent(t, map[string]testfake.Reply{"GET /v1.1/tenants/t1/networks/detail": {Status: 200, Body: `{"networks":[]}`}})
	code, out, errs := runCtl(t, nil, "-socket", f.Socket, "-tenant=t1", "net-list", "-o", "json")
	if code != 0 || !strings.Contains(out, `"networks": []`) {
		t.Fatalf("exit %d, out %q, err %q", code, out, errs)
	}
}

// TestQuiet: creates print the id alone with -q, for NET=$(quantumctl net-create -q net1).
func TestQuiet(t *testing.T) {
	f := testfake.NewAgent(t, map[string]testfake.Reply{
		"POST " + tbase + "/networks":                {Status: 202, Body: `{"network":{"id":"n1"}}`},
		"POST " + tbase + "/networks/n1/ports":       {Status: 202, Body: `{"port":{"id":"p1"}}`},
		"POST " + tbase + "/networks/n1/attachments": {Status: 202, Body: `{"port":{"id":"p2","attachment":{"id":"vif-2"}}}`},
	})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"net-create", "-q", "web"}, "n1\n"},
		{[]string{"net-create", "web", "--quiet", "-o", "json"}, "n1\n"},
		{[]string{"port-create", "n1", "-q", "--state", "ACTIVE"}, "p1\n"},
		{[]string{"net-plug", "-q", "n1", "vif-2"}, "p2\n"},
	} {
		code, out, errs := runCtl(t, nil, append([]string{"--socket", f.Socket}, c.args...)...)
		if code != 0 || out != c.want {
			t.Errorf("%v: exit %d, out %q (want %q), err %q", c.args, code, out, c.want, errs)
		}
	}
}

// TestPermissionDenied: the message names the socket and the group to join.
func TestPermissionDenied(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "quantum.sock")
	g := globals{tenant: "default", api: "v1.1"}
	err := &client.UnreachableError{Target: sock, Err: &os.PathError{Op: "dial", Path: sock, Err: os.ErrPermission}}
	want := "permission denied on " + sock + ": join the group quantum (usermod -aG quantum USER, then log in again) or run as root"
	if got := describe(err, &g); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// A socket that exists is asked for its group.
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	grp, lerr := user.LookupGroupId("1")
	if lerr != nil || os.Chown(sock, -1, 1) != nil {
		t.Skip("cannot give a file to group 1")
	}
	if got := describe(err, &g); !strings.Contains(got, "join the group "+grp.Name+" ") {
		t.Errorf("got %q, want the group %s", got, grp.Name)
	}
}

func TestParseInterspersed(t *testing.T) {
	f := testfake.NewAgent(t, map[string]testfake.Reply{
		"POST " + tbase + "/networks": {Status: 200, Body: `{"network":{"id":"n1"}}`},
	})
	// "--" ends flags: a network may be named like a flag.
	code, _, errs := runCtl(t, nil, "--socket", f.Socket, "net-create", "--type", "flat", "--", "-odd-name")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	checkJSON(t, "body", f.Requests()[0].Body, `{"network":{"name":"-odd-name","network-type":"flat"}}`)
}
