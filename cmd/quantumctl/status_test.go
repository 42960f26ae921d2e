package main

import (
	"strings"
	"testing"

	"github.com/quantum-agent/quantum-agent/internal/testfake"
)

const statusJSON = `{"version":"1.2.3","go_version":"go1.26","datapath":"ovs","host":"hv1","ready":%s,
 "reason":%s,"started":"2026-01-01T00:00:00Z","last_reconcile_pass":"2026-01-01T00:00:01Z",
 "databases":[{"name":"quantum","endpoints":["tcp:198.18.0.1:6641","tcp:198.18.0.2:6641"],"connected":true},
  {"name":"open_vswitch","endpoints":["unix:/run/openvswitch/db.sock"],"connected":false}],
 "networks":3,"ports":{"UP":2,"DOWN":1,"PROVISIONING":0},"attachments":{"UP":12,"FAILED":1,"PROVISIONING":0,"DOWN":0}}`

func TestStatus(t *testing.T) {
	for _, c := range []struct {
		name, ready, reason string
		code                int
		want                []string
	}{
		{"ready", "true", `""`, 0, []string{"Ready           yes", "quantum-agent 1.2.3 (go1.26)",
			"Quantum DB      connected (tcp:198.18.0.1:6641,tcp:198.18.0.2:6641)",
			"Open_vSwitch DB  NOT CONNECTED", "Networks        3", "Ports           2 UP, 1 DOWN, 0 PROVISIONING",
			"Attachments     12 UP, 1 FAILED, 0 PROVISIONING, 0 DOWN"}},
		{"not ready", "false", `"datapath: not connected to Open_vSwitch database"`, 1, []string{"Ready           no: datapath: not connected"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := strings.Replace(strings.Replace(statusJSON, "%s", c.ready, 1), "%s", c.reason, 1)
			f := testfake.NewAgent(t, map[string]testfake.Reply{"GET /status": {Status: 200, Body: body}})
			code, out, errs := runCtl(t, nil, "--socket", f.Socket, "status")
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, c.code, errs)
			}
			for _, w := range c.want {
				// tabwriter pads to the widest title, so compare with spaces squeezed.
				if !strings.Contains(squeeze(out), squeeze(w)) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if c.code != 0 && !strings.Contains(errs, "not ready") {
				t.Errorf("stderr %q", errs)
			}
			code, out, _ = runCtl(t, nil, "--socket", f.Socket, "-o", "json", "status")
			if code != c.code || !strings.Contains(out, `"host": "hv1"`) {
				t.Errorf("json: exit %d\n%s", code, out)
			}
		})
	}
}

func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestPlugWait(t *testing.T) {
	att := tbase + "/networks/n1/ports/p1/attachment"
	for _, c := range []struct {
		name, status string
		code         int
		want         string
	}{
		{"up", `{"attachment":{"id":"vif-1","status":"UP"}}`, 0, "UP"},
		{"failed", `{"attachment":{"id":"vif-1","status":"FAILED","reason":"no such device tap1"}}`, 1, "is FAILED: no such device tap1"},
		{"timeout", `{"attachment":{"id":"vif-1","status":"PROVISIONING"}}`, 1, "is PROVISIONING, not UP, after 2s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := testfake.NewAgent(t, map[string]testfake.Reply{"PUT " + att: {Status: 204, Body: ""}, "GET " + att: {Status: 200, Body: c.status}})
			// A bare --wait (plug's old boolean) means --wait UP; so do the
			// spaced and the = spellings, in any case.
			for _, wait := range [][]string{{"--wait"}, {"--wait", "UP"}, {"--wait=up"}} {
				args := append([]string{"--socket", f.Socket, "plug", "n1", "p1", "vif-1"}, wait...)
				code, out, errs := runCtl(t, nil, append(args, "--wait-timeout", "2s")...)
				if code != c.code || !strings.Contains(out+errs, c.want) {
					t.Fatalf("%v: exit %d (want %d), out %q, err %q", wait, code, c.code, out, errs)
				}
			}
			reqs := f.Requests()
			if len(reqs) != 6 || reqs[1].Query != "timeout=2&wait=UP" || reqs[5].Query != "timeout=2&wait=UP" {
				t.Errorf("requests %+v", reqs)
			}
		})
	}
}

// TestAttachmentShowWait: the same --wait on attachment-show, which exits 1
// (after printing the attachment) when the wait ends without the status.
func TestAttachmentShowWait(t *testing.T) {
	att := tbase + "/networks/n1/ports/p1/attachment"
	for _, c := range []struct {
		name, status string
		wait         []string
		code         int
		query, want  string
	}{
		{"up", `{"attachment":{"id":"vif-1","status":"UP"}}`, []string{"--wait", "UP"}, 0, "timeout=30&wait=UP", "Status  UP"},
		{"bare", `{"attachment":{"id":"vif-1","status":"UP"}}`, []string{"--wait"}, 0, "timeout=30&wait=UP", "Status  UP"},
		{"down", `{"attachment":{"id":"vif-1","status":"DOWN"}}`, []string{"--wait=down", "--wait-timeout", "3s"}, 0, "timeout=3&wait=DOWN", "Status  DOWN"},
		{"timeout", `{"attachment":{"id":"vif-1","status":"PROVISIONING"}}`, []string{"--wait", "UP", "--wait-timeout", "1s"}, 1, "timeout=1&wait=UP", "is PROVISIONING, not UP, after 1s"},
		{"failed", `{"attachment":{"id":"vif-1","status":"FAILED","reason":"no tap"}}`, []string{"--wait", "UP"}, 1, "timeout=30&wait=UP", "is FAILED: no tap"},
		{"none", `{"attachment":{}}`, []string{"--wait", "UP"}, 1, "timeout=30&wait=UP", "has no attachment to be UP"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := testfake.NewAgent(t, map[string]testfake.Reply{"GET " + att: {Status: 200, Body: c.status}})
			args := append([]string{"--socket", f.Socket, "attachment-show", "n1", "p1"}, c.wait...)
			code, out, errs := runCtl(t, nil, args...)
			if code != c.code || !strings.Contains(out+errs, c.want) {
				t.Fatalf("exit %d (want %d), out %q, err %q", code, c.code, out, errs)
			}
			if c.code != 0 && !strings.Contains(out, "vif-1") && c.name != "none" {
				t.Errorf("the attachment is not printed before the failure: %q", out)
			}
			if reqs := f.Requests(); len(reqs) != 1 || reqs[0].Query != c.query {
				t.Errorf("requests %+v, want one with %s", reqs, c.query)
			}
		})
	}
}
