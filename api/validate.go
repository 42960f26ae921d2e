package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/quantum-agent/quantum-agent/agent"
)

// The one rule for text that comes from a request (docs/api.md "Limits").
// Every such text ends up in the Quantum DB, in a log line or in a fault
// detail; ovsdb-server drops the agent's whole connection on a NUL, and
// stores invalid UTF-8 mangled. So it is checked here, before any
// endpoint runs, and never reaches a transaction.
const (
	// maxTextBytes bounds ids, names and every other text field.
	maxTextBytes = 255
	// maxDeviceBytes is IFNAMSIZ-1, the kernel's limit on interface names.
	maxDeviceBytes = 15
	// maxMACBytes fits an Ethernet MAC address as text (fa:16:3e:00:00:01).
	maxMACBytes = 17
)

// idempotencyKeyHeader is read only to check it here; the extension that
// uses it lives elsewhere.
const idempotencyKeyHeader = "Idempotency-Key"

// checkText enforces the text rule: at most max bytes, valid UTF-8, no
// control character (C0 including NUL, tab and newline; DEL; C1). field
// names the text in the detail.
func checkText(field, s string, max int) error {
	if len(s) > max {
		return malformed("%s is longer than %d bytes", field, max)
	}
	if !utf8.ValidString(s) {
		return malformed("%s is not valid UTF-8", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) { // exactly C0, DEL and C1 (category Cc)
			return malformed("%s contains a control character (%U)", field, r)
		}
	}
	return nil
}

// checkSegment is checkText for an id that travels as a URL path segment:
// it must also be usable as one again (no "/", not "." or "..").
func checkSegment(field, s string) error {
	if err := checkText(field, s, maxTextBytes); err != nil {
		return err
	}
	if strings.Contains(s, "/") {
		return malformed("%s contains %q", field, "/")
	}
	if s == "." || s == ".." {
		return malformed("%s must not be %q", field, s)
	}
	return nil
}

// checkRequest checks the texts of a request that are not in its body:
// the path values, the query string (filters, ?wait=, ?timeout=: every
// name and value) and the Idempotency-Key header. The router calls it
// once per request, before the endpoint.
func checkRequest(r *http.Request) error {
	for _, pv := range []struct{ wildcard, field string }{
		{"tenant", "tenant id"}, {"net", "network id"}, {"port", "port id"}, {"alias", "extension alias"},
	} {
		if v := r.PathValue(pv.wildcard); v != "" {
			if err := checkSegment(pv.field, v); err != nil {
				return err
			}
		}
	}
	if _, err := query(r); err != nil {
		return err
	}
	return checkIdempotencyKey(r.Header.Get(idempotencyKeyHeader))
}

// query parses the query string strictly: a malformed one (a bad %-escape,
// a ";") is an error instead of pairs silently dropped, and every name and
// value obeys the text rule.
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, malformed("query string is malformed: %v", err)
	}
	for _, k := range sortedKeys(q) {
		if err := checkText("query parameter name", k, maxTextBytes); err != nil {
			return nil, err
		}
		for _, v := range q[k] {
			if err := checkText(fmt.Sprintf("query parameter %q", k), v, maxTextBytes); err != nil {
				return nil, err
			}
		}
	}
	return q, nil
}

// checkIdempotencyKey applies the extension's own rule to the header.
func checkIdempotencyKey(key string) error { return agent.ValidIdempotencyKey(key) }
