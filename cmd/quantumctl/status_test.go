package main

import (
	"os"
	"os/exec"
	"path/filepath"
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
			code, out, errs := runCtl(t, nil, "--socket", f.Socket, "plug", "n1", "p1", "vif-1", "--wait", "--wait-timeout", "2s")
			if code != c.code || !strings.Contains(out+errs, c.want) {
				t.Fatalf("exit %d (want %d), out %q, err %q", code, c.code, out, errs)
			}
			reqs := f.Requests()
			if len(reqs) != 2 || reqs[1].Query != "timeout=2&wait=UP" {
				t.Errorf("requests %+v", reqs)
			}
		})
	}
}

// TestBashCompletion runs the generated script in bash: it must parse and
// complete commands, global flags, a command's flags and fixed values.
func TestBashCompletion(t *testing.T) {
	code, script, errs := runCtl(t, nil, "completion", "bash")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	p := filepath.Join(t.TempDir(), "qc.bash")
	if err := os.WriteFile(p, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) string {
		t.Helper()
		prog := "source " + p + "\nCOMP_WORDS=(" + strings.Join(quoteAll(words), " ") + ")\n" +
			"COMP_CWORD=" + itoa(len(words)-1) + "\n_quantumctl\necho \"${COMPREPLY[*]}\"\n"
		out, err := exec.Command(bash, "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, c := range []struct {
		words []string
		want  string
	}{
		{[]string{"quantumctl", "sta"}, "status"},
		{[]string{"quantumctl", "--tenant", "t1", "net-c"}, "net-create"},
		{[]string{"quantumctl", "--t"}, "--tenant --timeout"},
		{[]string{"quantumctl", "plug", "n", "p", "i", "--w"}, "--wait --wait-timeout"},
		{[]string{"quantumctl", "port-create", "n", "--state", ""}, "ACTIVE DOWN"},
		{[]string{"quantumctl", "-o", ""}, "table json"},
		{[]string{"quantumctl", "completion", ""}, "bash"},
	} {
		if got := complete(c.words...); got != c.want {
			t.Errorf("complete %q: %q, want %q", c.words, got, c.want)
		}
	}
	if code, _, _ := runCtl(t, nil, "completion", "fish"); code != exitUsage {
		t.Errorf("completion fish: exit %d, want %d", code, exitUsage)
	}
}

func quoteAll(ws []string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = "'" + w + "'"
	}
	return out
}
