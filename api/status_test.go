package api

import (
	"testing"
)

// TestStatusEndpoint checks GET /status answers the daemon's Status as JSON
// outside the versioned API, and that other methods get the 405 fault any
// route gives.
func TestStatusEndpoint(t *testing.T) {
	calls := 0
	h := testHandler(t, newBackend(t), WithStatus(func() Status {
		calls++
		return Status{Version: "1.2.3", Datapath: "ovs", Host: "hv1", Ready: false, Reason: "first reconcile pass not done yet",
			Databases:   []DatabaseStatus{{Name: "quantum", Endpoints: []string{"unix:/x"}, Connected: true}},
			Attachments: map[string]int{"UP": 2}}
	}))
	r := do(t, h, "GET", StatusPath, "")
	if r.code != 200 || calls != 1 {
		t.Fatalf("GET %s: %d (calls %d) %s", StatusPath, r.code, calls, r.raw)
	}
	eq(t, "Cache-Control", r.header.Get("Cache-Control"), "no-store")
	if r.body["version"] != "1.2.3" || r.body["ready"] != false || r.body["reason"] != "first reconcile pass not done yet" {
		t.Errorf("status body: %v", r.body)
	}
	if dbs, _ := r.body["databases"].([]any); len(dbs) != 1 {
		t.Errorf("databases: %v", r.body["databases"])
	}
	expect(t, do(t, h, "HEAD", StatusPath, ""), 200)

	for _, method := range []string{"POST", "PUT", "DELETE"} {
		r = expect(t, do(t, h, method, StatusPath, ""), 405)
		eq(t, method+" Allow", r.header.Get("Allow"), "GET, HEAD")
		eq(t, method+" fault", r.str("methodNotAllowed.code"), "405")
	}
	// JSON only: a format suffix names nothing, whatever the method.
	expect(t, do(t, h, "GET", StatusPath+".json", ""), 404)
	expect(t, do(t, h, "POST", StatusPath+".xml", ""), 404)
	if calls != 2 { // the GET and the HEAD
		t.Errorf("status called %d times, want 2", calls)
	}
	// The API itself is untouched.
	if r := do(t, h, "GET", "/v1.1/tenants/t1/networks.json", ""); r.code != 200 {
		t.Errorf("API beside the status: %d %s", r.code, r.raw)
	}
}

// TestNoStatusEndpoint: without WithStatus, StatusPath is an unknown path.
func TestNoStatusEndpoint(t *testing.T) {
	h := testHandler(t, newBackend(t))
	r := expect(t, do(t, h, "GET", StatusPath, ""), 404)
	eq(t, "fault", r.str("notFound.code"), "404")
}
