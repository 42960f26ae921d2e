package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testfake"
)

// runQuick runs quantumctl with retries that wait a millisecond.
func runQuick(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, getenv: func(string) string { return "" },
		clientOpts: []client.Option{client.WithRetry(client.RetryPolicy{Attempts: 3, Backoff: time.Millisecond, MaxBackoff: time.Millisecond})}}
	code = a.run(context.Background(), args)
	return code, out.String(), errb.String()
}

var keyedCommands = []struct {
	args  []string
	route string
	ok    testfake.Reply
}{
	{[]string{"net-create", "web"}, "POST " + tbase + "/networks", testfake.Reply{Status: 202, Body: `{"network":{"id":"n1"}}`}},
	{[]string{"port-create", "n1", "--state", "active"}, "POST " + tbase + "/networks/n1/ports", testfake.Reply{Status: 202, Body: `{"port":{"id":"p1"}}`}},
	{[]string{"plug", "n1", "p1", "vif-1"}, "PUT " + tbase + "/networks/n1/ports/p1/attachment", testfake.Reply{Status: 204, Body: ""}},
	{[]string{"net-plug", "n1", "vif-1"}, "POST " + tbase + "/networks/n1/attachments", testfake.Reply{Status: 202, Body: `{"port":{"id":"p1"}}`}},
}

// TestIdempotencyKeyFlag: creates and plugs send the key given, or a fresh
// one.
func TestIdempotencyKeyFlag(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, tt := range keyedCommands {
		t.Run(tt.args[0], func(t *testing.T) {
			f := testfake.NewAgent(t, map[string]testfake.Reply{tt.route: tt.ok})
			args := append([]string{"--socket", f.Socket}, tt.args...)
			if code, _, errs := runQuick(t, append(args, "--idempotency-key", "run-42")...); code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if code, _, errs := runQuick(t, args...); code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			reqs := f.Requests()
			if len(reqs) != 2 || reqs[0].Key != "run-42" || !uuid.MatchString(reqs[1].Key) {
				t.Errorf("requests %+v: want key run-42, then a fresh UUID", reqs)
			}
		})
	}
}

// TestUnknownOutcome: when the agent stays unavailable, every try carried
// the same key, and the error tells which key to re-run with.
func TestUnknownOutcome(t *testing.T) {
	const unavailable = `{"QuantumError":{"type":"ServiceUnavailable","message":"The service is unavailable at this time.","detail":"The Quantum DB did not answer: the outcome is unknown."}}`
	for _, tt := range keyedCommands {
		t.Run(tt.args[0], func(t *testing.T) {
			f := testfake.NewAgent(t, map[string]testfake.Reply{tt.route: {Status: 503, Body: unavailable}})
			code, out, errs := runQuick(t, append([]string{"--socket", f.Socket}, tt.args...)...)
			if code != 1 || out != "" {
				t.Fatalf("exit %d, stdout %q", code, out)
			}
			reqs := f.Requests()
			if len(reqs) != 3 {
				t.Fatalf("%d tries, want 3", len(reqs))
			}
			for _, r := range reqs {
				if r.Key != reqs[0].Key {
					t.Errorf("keys differ across tries: %q, %q", r.Key, reqs[0].Key)
				}
			}
			want := "re-run with --idempotency-key " + reqs[0].Key + " to retry safely"
			if !strings.Contains(errs, "the outcome is unknown") || !strings.Contains(errs, want) {
				t.Errorf("stderr %q, want it to say %q", errs, want)
			}
		})
	}
}

func TestKeyReused(t *testing.T) {
	f := testfake.NewAgent(t, map[string]testfake.Reply{"POST " + tbase + "/networks": {Status: 422,
		Body: `{"QuantumError":{"type":"IdempotencyKeyReused","message":"m","detail":"Idempotency-Key k1 was used for another request"}}`}})
	code, _, errs := runQuick(t, "--socket", f.Socket, "net-create", "web", "--idempotency-key", "k1")
	if code != 1 || !strings.Contains(errs, "use a new key for a different one") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if n := len(f.Requests()); n != 1 {
		t.Errorf("%d tries, want 1: a reused key is not retried", n)
	}
}
