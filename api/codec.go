package api

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/quantum-agent/quantum-agent/agent"
)

// document is a response body: in JSON {key: value} (or value alone when
// bare), in XML an element named key (in the version's namespace) whose
// content is value.
type document struct {
	key   string
	value any
	bare  bool // JSON has no wrapper key (GET /v1.x/extensions/{alias})
}

// encode renders doc in format f; ns is the XML namespace ("" for none).
func encode(doc document, f format, ns string) ([]byte, string, error) {
	if f == formatXML {
		b, err := encodeXML(doc, ns)
		return b, f.contentType(), err
	}
	var v any = map[string]any{doc.key: doc.value}
	if doc.bare {
		v = doc.value
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // not for browsers: keep & and < readable
	if err := enc.Encode(v); err != nil {
		return nil, "", err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), formatJSON.contentType(), nil
}

// fieldType is the type a request attribute must have. Every text type
// also obeys the text rule of validate.go, with its own length limit.
type fieldType int

const (
	textField   fieldType = iota // text of at most maxTextBytes
	intField                     // a decimal integer
	deviceField                  // a Linux interface name: at most maxDeviceBytes
	macField                     // a MAC address as text: at most maxMACBytes
)

// schema describes a request body: its one required top-level key (the
// object), the attributes known inside it, and the other top-level keys
// known (JSON only: XML has one root). Keys it does not know are ignored,
// as the released server did, and recorded in ignored when that is set;
// the values of the keys it knows are checked strictly.
type schema struct {
	root    string
	fields  map[string]fieldType
	top     map[string]fieldType
	ignored *ignoredKeys
}

// fields are the known attributes a request body set, as text (integers in
// decimal, already checked).
type fields map[string]string

// ignoredKeys collects the keys a decoder skipped.
type ignoredKeys struct{ keys []ignoredKey }

// add records key of object ("top" for the top level); a nil collector
// records nothing.
func (ik *ignoredKeys) add(object, key string) {
	if ik != nil {
		ik.keys = append(ik.keys, ignoredKey{object: object, key: key})
	}
}

// topObject names the top level of a body in ignoredKey.object.
const topObject = "top"

// decode parses a request body of format f against s. The body must be
// valid UTF-8 as a whole (RFC 8259 section 8.1, XML 1.0): checked on the
// raw bytes, because both decoders would otherwise replace invalid bytes
// with U+FFFD and store that.
func decode(data []byte, f format, s schema) (fields, error) {
	if !utf8.Valid(data) {
		return nil, malformed("request body is not valid UTF-8")
	}
	if f == formatXML {
		return decodeXML(data, s)
	}
	return decodeJSON(data, s)
}

// checkField checks one known value of typ, named label in a detail, and
// returns it normalised (integers in decimal).
func checkField(label, value string, typ fieldType) (string, error) {
	switch typ {
	case intField:
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return "", malformed("%s must be an integer", label)
		}
		return strconv.FormatInt(n, 10), nil
	case deviceField:
		return value, checkText(label, value, maxDeviceBytes)
	case macField:
		return value, checkText(label, value, maxMACBytes)
	}
	return value, checkText(label, value, maxTextBytes)
}

// fieldLabel names attribute key of object root in a detail: "network name".
func fieldLabel(root, key string) string { return root + " " + key }

// malformed is the error of a body that cannot be used; its detail goes to
// the client.
func malformed(format string, args ...any) error {
	return &agent.Error{Kind: agent.KindMalformed, Detail: fmt.Sprintf(format, args...)}
}

func missingRoot(root string) error { return malformed("missing key %q in request body", root) }

// xmlList renders a slice in XML as a wrapper element holding one element
// per item (<ports><port/></ports>), and in JSON as a plain array (never
// null).
type xmlList[T any] struct {
	item  string
	items []T
}

func listOf[T any](item string, items []T) *xmlList[T] {
	if items == nil {
		items = []T{}
	}
	return &xmlList[T]{item: item, items: items}
}

func (l xmlList[T]) MarshalJSON() ([]byte, error) { return json.Marshal(l.items) }

func (l xmlList[T]) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, it := range l.items {
		if err := e.EncodeElement(it, xml.StartElement{Name: xml.Name{Local: l.item}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// sameAsURL refuses an id that a body may repeat (the released CLI does)
// when it contradicts the URL's: key of object, or a top-level key when
// object is "".
func sameAsURL(f fields, key, object, want string) error {
	got, ok := f[key]
	if !ok || got == want {
		return nil
	}
	if object == "" {
		return malformed("key %q is %q, but the URL names %q", key, got, want)
	}
	return malformed("attribute %q of %q is %q, but the URL names %q", key, object, got, want)
}
