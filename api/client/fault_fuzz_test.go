package client

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// FuzzDecodeFault: whatever an agent (or something in its place) sends back,
// decoding a fault must not panic and must keep the status.
func FuzzDecodeFault(f *testing.F) {
	f.Add(420, "application/json", `{"networkNotFound":{"code":420,"message":"m","detail":"d"}}`)
	f.Add(404, "application/json", `{"QuantumError":{"type":"NetworkNotFound","message":"m","detail":"d"}}`)
	f.Add(409, "application/xml", `<QuantumError><type>PortInUse</type></QuantumError>`)
	f.Add(500, "text/plain", "oops")
	f.Add(400, "application/json", `{"a":1,"b":2}`)
	f.Fuzz(func(t *testing.T, status int, ct, body string) {
		resp := &http.Response{
			StatusCode: status,
			Header:     http.Header{"Content-Type": {ct}},
			Body:       io.NopCloser(bytes.NewBufferString(body)),
		}
		fault := decodeFault(resp)
		if fault.HTTPStatus != status {
			t.Fatalf("status %d became %d", status, fault.HTTPStatus)
		}
		_ = fault.Error()
		_ = fault.Kind()
	})
}
