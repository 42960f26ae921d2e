package api

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"

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

// fieldType is the type a request attribute must have.
type fieldType int

const (
	textField fieldType = iota
	intField
)

// schema describes a request body: its one top-level key and the
// attributes allowed inside it. Anything else is refused, so a typo is an
// error instead of a silently ignored setting.
type schema struct {
	root   string
	fields map[string]fieldType
}

// fields are the attributes a request body set, as text (integers in
// decimal, already checked).
type fields map[string]string

// decode parses a request body of format f against s.
func decode(data []byte, f format, s schema) (fields, error) {
	if f == formatXML {
		return decodeXML(data, s)
	}
	return decodeJSON(data, s)
}

// malformed is the error of a body that cannot be used; its detail goes to
// the client.
func malformed(format string, args ...any) error {
	return &agent.Error{Kind: agent.KindMalformed, Detail: fmt.Sprintf(format, args...)}
}

func unknownKey(key string) error { return malformed("unknown key %q in request body", key) }

func unknownAttribute(root, key string) error {
	return malformed("unknown attribute %q in %q", key, root)
}

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
