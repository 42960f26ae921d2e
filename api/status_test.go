package api

import (
	"net/http/httptest"
	"testing"
)

// TestStatusEndpoint checks GET /status answers the daemon's Status as JSON
// outside the versioned API, and that other methods are refused.
func TestStatusEndpoint(t *testing.T) {
	calls := 0
	h := WithStatus(testHandler(t, newBackend(t)), func() Status {
		calls++
		return Status{Version: "1.2.3", Datapath: "ovs", Host: "hv1", Ready: false, Reason: "first reconcile pass not done yet",
			Databases:   []DatabaseStatus{{Name: "quantum", Endpoints: []string{"unix:/x"}, Connected: true}},
			Attachments: map[string]int{"UP": 2}}
	})
	r := do(t, h, "GET", StatusPath, "")
	if r.code != 200 || calls != 1 {
		t.Fatalf("GET %s: %d (calls %d) %s", StatusPath, r.code, calls, r.raw)
	}
	if r.body["version"] != "1.2.3" || r.body["ready"] != false || r.body["reason"] != "first reconcile pass not done yet" {
		t.Errorf("status body: %v", r.body)
	}
	if dbs, _ := r.body["databases"].([]any); len(dbs) != 1 {
		t.Errorf("databases: %v", r.body["databases"])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", StatusPath, nil))
	if rec.Code != 405 {
		t.Errorf("POST %s: %d, want 405", StatusPath, rec.Code)
	}
	// The API itself is untouched.
	if r := do(t, h, "GET", "/v1.1/tenants/t1/networks.json", ""); r.code != 200 {
		t.Errorf("API behind WithStatus: %d %s", r.code, r.raw)
	}
}
