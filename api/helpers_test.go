package api

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/quantum-agent/quantum-agent/agent"
)

// testHandler builds the handler on b, logging into the test's output.
func testHandler(t *testing.T, b agent.Service, opts ...Option) http.Handler {
	t.Helper()
	return NewHandler(b, slog.New(slog.NewTextHandler(t.Output(), nil)), opts...)
}

// response is a reply reduced to a neutral form: body is the same map for
// a JSON and an XML reply of the same document, so one set of assertions
// covers both formats.
type response struct {
	code   int
	header http.Header
	raw    string
	ns     string // the XML root's namespace
	body   map[string]any
}

// do sends one request; hdr are header name/value pairs.
func do(t *testing.T, h http.Handler, method, target, body string, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return parseResponse(t, rec.Code, rec.Header(), rec.Body.Bytes())
}

func parseResponse(t *testing.T, code int, hdr http.Header, raw []byte) response {
	t.Helper()
	r := response{code: code, header: hdr, raw: string(raw)}
	switch ct := hdr.Get("Content-Type"); ct {
	case "application/json":
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("reply %d is not a JSON object: %v\n%s", code, err, raw)
		}
	case "application/xml":
		r.body, r.ns = xmlNeutral(t, raw)
	case "":
		if len(raw) != 0 {
			t.Fatalf("reply %d has a body but no Content-Type: %q", code, raw)
		}
	default:
		t.Fatalf("reply %d has Content-Type %q", code, ct)
	}
	return r
}

// plurals are the XML elements that wrap lists.
func isPlural(name string) bool {
	return slices.Contains([]string{"networks", "ports", "attachments", "extensions", "versions", "links"}, name)
}

// xmlNeutral turns an XML reply into the JSON shape: attributes and
// children become keys, plural wrappers become lists, leaf elements text.
// It also checks every element is in the root's namespace.
func xmlNeutral(t *testing.T, raw []byte) (map[string]any, string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("XML reply has no root: %v\n%s", err, raw)
		}
		if start, ok := tok.(xml.StartElement); ok {
			v := xmlValue(t, dec, start, start.Name.Space, true)
			return map[string]any{start.Name.Local: v}, start.Name.Space
		}
	}
}

func xmlValue(t *testing.T, dec *xml.Decoder, start xml.StartElement, ns string, root bool) any {
	t.Helper()
	if start.Name.Space != ns {
		t.Errorf("element %s in namespace %q, want %q", start.Name.Local, start.Name.Space, ns)
	}
	obj := map[string]any{}
	for _, a := range start.Attr {
		if a.Name.Local != "xmlns" && a.Name.Space != "xmlns" {
			obj[a.Name.Local] = a.Value
		}
	}
	var list []any
	var text strings.Builder
	children := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("bad XML reply: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			children++
			v := xmlValue(t, dec, tk, ns, false)
			if isPlural(start.Name.Local) {
				list = append(list, v)
			} else {
				obj[tk.Name.Local] = v
			}
		case xml.CharData:
			text.Write(tk)
		case xml.EndElement:
			switch {
			case isPlural(start.Name.Local):
				if list == nil {
					list = []any{}
				}
				return list
			case !root && children == 0 && len(obj) == 0:
				return text.String()
			}
			return obj
		}
	}
}

// get walks a dotted path ("networks.0.id") through a neutral body.
func (r response) get(path string) any {
	var cur any = r.body
	for _, k := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// str is get as text: JSON numbers and XML attributes compare alike.
func (r response) str(path string) string {
	v := r.get(path)
	if v == nil {
		return ""
	}
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func (r response) len(path string) int {
	l, ok := r.get(path).([]any)
	if !ok {
		return -1
	}
	return len(l)
}

func (r response) has(path string) bool { return r.get(path) != nil }

// ids lists the "id" of each item of a list.
func (r response) ids(path string) []string {
	var out []string
	l, _ := r.get(path).([]any)
	for _, it := range l {
		if m, ok := it.(map[string]any); ok {
			out = append(out, fmt.Sprint(m["id"]))
		}
	}
	return out
}

// reqBody writes {"root":{attrs}} in JSON or <root attr=".."/> in XML.
func reqBody(f format, root string, attrs map[string]any) string {
	if f == formatXML {
		var b strings.Builder
		b.WriteString("<" + root)
		for _, k := range sortedKeys(attrs) {
			b.WriteString(" " + k + `="`)
			xml.EscapeText(&b, []byte(fmt.Sprint(attrs[k])))
			b.WriteString(`"`)
		}
		b.WriteString("/>")
		return b.String()
	}
	data, _ := json.Marshal(map[string]any{root: attrs})
	return string(data)
}

func formatName(f format) string {
	if f == formatXML {
		return "xml"
	}
	return "json"
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
