package api

import (
	"fmt"
	"testing"
)

// TestIdempotencyKeyReplays: through the real handler and agent, a create
// or plug retried with the same Idempotency-Key answers exactly as the
// first time (code and body) and makes nothing more, on both versions.
func TestIdempotencyKeyReplays(t *testing.T) {
	for _, v := range []struct {
		version string
		created int
	}{{"v1.0", 200}, {"v1.1", 202}} {
		t.Run(v.version, func(t *testing.T) {
			h := testHandler(t, newBackend(t))
			base := "/" + v.version + "/tenants/t"
			twice := func(method, path, body, key string, code int) (first, again response) {
				t.Helper()
				first = expect(t, do(t, h, method, base+path, body, "Idempotency-Key", key), code)
				again = expect(t, do(t, h, method, base+path, body, "Idempotency-Key", key), code)
				return first, again
			}
			count := func(path, list string) int { return do(t, h, "GET", base+path, "").len(list) }

			first, again := twice("POST", "/networks", `{"network":{"name":"n1"}}`, "net-1", v.created)
			eq(t, "replayed network create", again.raw, first.raw)
			eq(t, "networks after a replayed create", count("/networks", "networks"), 1)
			net := "/networks/" + first.str("network.id")

			first, again = twice("POST", net+"/ports", `{"port":{"state":"ACTIVE"}}`, "port-1", v.created)
			eq(t, "replayed port create", again.raw, first.raw)
			eq(t, "ports after a replayed create", count(net+"/ports", "ports"), 1)
			port := net + "/ports/" + first.str("port.id")

			first, again = twice("PUT", port+"/attachment", `{"attachment":{"id":"vif-1"}}`, "plug-1", 204)
			eq(t, "replayed plug", again.raw, "")

			// The replay shows the port as it is now: the attachment's
			// status may have moved on since the first answer.
			first, again = twice("POST", net+"/attachments", `{"attachment":{"id":"vif-2"}}`, "plug-2", v.created)
			for _, f := range []string{"port.id", "port.state", "port.attachment.id"} {
				eq(t, "replayed plug into network: "+f, again.str(f), first.str(f))
			}
			eq(t, "ports after a replayed plug into network", count(net+"/ports", "ports"), 2)
			eq(t, "attachments after the replays", count(net+"/attachments", "attachments"), 2)
		})
	}
}

// TestIdempotencyKeyReusedIs422: the same key with another body is refused
// with the extension's fault, in each version's shape; another tenant's
// same key is another request.
func TestIdempotencyKeyReusedIs422(t *testing.T) {
	h := testHandler(t, newBackend(t))
	expect(t, do(t, h, "POST", "/v1.1/tenants/t/networks", `{"network":{"name":"n1"}}`, "Idempotency-Key", "k"), 202)
	r := expect(t, do(t, h, "POST", "/v1.1/tenants/t/networks", `{"network":{"name":"n2"}}`, "Idempotency-Key", "k"), 422)
	eq(t, "v1.1 fault type", r.str("QuantumError.type"), "IdempotencyKeyReused")
	r = expect(t, do(t, h, "POST", "/v1.0/tenants/t/networks", `{"network":{"name":"n2"}}`, "Idempotency-Key", "k"), 422)
	eq(t, "v1.0 fault code", r.str("idempotencyKeyReused.code"), "422")
	expect(t, do(t, h, "POST", "/v1.1/tenants/other/networks", `{"network":{"name":"n2"}}`, "Idempotency-Key", "k"), 202)
	eq(t, "networks of t", do(t, h, "GET", "/v1.1/tenants/t/networks", "").len("networks"), 1)
}

// TestWithoutIdempotencyKeyNothingChanges: no header, no replay.
func TestWithoutIdempotencyKeyNothingChanges(t *testing.T) {
	h := testHandler(t, newBackend(t))
	ids := map[string]bool{}
	for i := 0; i < 2; i++ {
		r := expect(t, do(t, h, "POST", "/v1.1/tenants/t/networks", `{"network":{"name":"n"}}`), 202)
		ids[r.str("network.id")] = true
	}
	eq(t, fmt.Sprint("distinct ids ", ids), len(ids), 2)
}
