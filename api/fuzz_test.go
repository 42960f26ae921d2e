package api

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/quantum-agent/quantum-agent/agent"
)

func fuzzSchemas() []schema {
	return []schema{networkCreateSchema(), networkUpdateSchema(), portCreateSchema(), portUpdateSchema(), attachmentSchema()}
}

// checkDecoded: a decoder either refuses with a malformed error or yields
// only keys of the schema, integers as integers, text that obeys the text
// rule.
func checkDecoded(t *testing.T, s schema, got fields, err error) {
	t.Helper()
	if err != nil {
		var ae *agent.Error
		if !errors.As(err, &ae) || ae.Kind != agent.KindMalformed || ae.Detail == "" {
			t.Fatalf("decoder error is not a malformed agent.Error: %#v", err)
		}
		return
	}
	for k, v := range got {
		typ, ok := s.fields[k]
		if !ok {
			if typ, ok = s.top[k]; !ok {
				t.Fatalf("decoder let through unknown attribute %q", k)
			}
		}
		if _, err := strconv.ParseInt(v, 10, 64); typ == intField && err != nil {
			t.Fatalf("integer attribute %q = %q", k, v)
		}
		if err := checkText(k, v, maxTextBytes); err != nil {
			t.Fatalf("decoder let through bad text: %v", err)
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"network":{"name":"a"}}`, `{"port":{"state":"ACTIVE"}}`, `{"attachment":{"id":"v","mac":"m"}}`,
		`{"network":{"name":"a","segmentation-id":12}}`, `{"network":null}`, `{}`, `[]`, `{"a":1,"network":{}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, s := range fuzzSchemas() {
			got, err := decodeJSON(data, s)
			checkDecoded(t, s, got, err)
		}
	})
}

func FuzzDecodeXML(f *testing.F) {
	for _, seed := range []string{
		`<network name="a"/>`, `<network><name>a</name></network>`, `<port state="DOWN"/>`,
		`<attachment id="v"><device>tap</device></attachment>`, `<?xml version="1.0"?><network xmlns="x" segmentation-id="1"/>`,
		`<network><name><b/></name></network>`, `<a:network xmlns:a="u" a:name="x"/>`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, s := range fuzzSchemas() {
			got, err := decodeXML(data, s)
			checkDecoded(t, s, got, err)
		}
	})
}

// panicDetector fails the fuzz input if the handler logged a recovered
// panic: a 500 must never come from one.
type panicDetector struct{ panicked atomic.Bool }

func (d *panicDetector) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("panic in handler")) {
		d.panicked.Store(true)
	}
	return len(p), nil
}

// FuzzRouter feeds arbitrary requests to the whole handler: no panic, and
// every reply is a well-formed document (or empty for 204/HEAD), a fault
// for every error status.
func FuzzRouter(f *testing.F) {
	for _, s := range [][4]string{
		{"GET", "/", "", ""},
		{"GET", "/v1.0/tenants/t/networks", "", ""},
		{"POST", "/v1.1/tenants/t/networks.xml", `<network name="a"/>`, ""},
		{"POST", "/v1.0/tenants/t/networks", `{"network":{"name":"a"}}`, "application/json"},
		{"PUT", "/v1.1/tenants/t/networks/x/ports/y/attachment", `{"attachment":{"id":"v"}}`, ""},
		{"GET", "/v1.1/tenants/t/networks/x/ports/y/attachment?wait=UP&timeout=0", "", ""},
		{"GET", "/v1.1/tenants/t/networks?has-attachment=TRUE&name=a", "", "application/xml"},
		{"DELETE", "/v1.1/extensions/provider.json", "", ""},
		{"BREW", "/v1.0//tenants/../x.xml", "<", "text/xml"},
	} {
		f.Add(s[0], s[1], []byte(s[2]), s[3])
	}
	backend := newBackend(f) // one store for all inputs: starting one per input would dwarf the work
	f.Fuzz(func(t *testing.T, method, target string, body []byte, ctype string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || method == "" || strings.ContainsAny(method, " \t\r\n") {
			t.Skip()
		}
		det := &panicDetector{}
		h := NewHandler(backend, slog.New(slog.NewTextHandler(det, nil)))
		req := &http.Request{Method: method, URL: u, RequestURI: target, Host: "q",
			Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
			req.Header.Set("Accept", ctype)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if det.panicked.Load() {
			t.Fatalf("%s %s panicked", method, target)
		}
		if rec.Code < 200 || rec.Code > 599 || rec.Code == 500 {
			t.Fatalf("%s %s: status %d", method, target, rec.Code)
		}
		r := parseResponse(t, rec.Code, rec.Header(), rec.Body.Bytes())
		if rec.Code >= 400 && len(r.body) != 1 {
			t.Fatalf("%s %s: error %d without a one-key fault body: %s", method, target, rec.Code, r.raw)
		}
		if r.raw == "" && rec.Code != 204 && method != http.MethodHead {
			t.Fatalf("%s %s: status %d without a body", method, target, rec.Code)
		}
	})
}
