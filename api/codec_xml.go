package api

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
)

// encodeXML writes doc as an element named doc.key in namespace ns.
// Children inherit the namespace, so only the root carries xmlns.
func encodeXML(doc document, ns string) ([]byte, error) {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	start := xml.StartElement{Name: xml.Name{Space: ns, Local: doc.key}}
	if err := enc.EncodeElement(doc.value, start); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeXML reads <root attr="v"/> or <root><attr>v</attr></root> (or a
// mix): the root must be s.root; known attributes and children must hold
// text only, of the type s says; unknown attributes and children are
// ignored whatever they hold, nested elements included. Namespaces are
// accepted but not required, as released clients differ.
func decodeXML(data []byte, s schema) (fields, error) {
	if surrogateCharRef(data) {
		return nil, malformed("request body is not XML: a character reference names a UTF-16 surrogate")
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	root, err := xmlRoot(dec)
	if err != nil {
		return nil, err
	}
	if root.Name.Local != s.root {
		return nil, malformed("missing key %q in request body (the root element is %q)", s.root, root.Name.Local)
	}
	out := fields{}
	for _, a := range root.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		if err := setXMLField(out, s, a.Name.Local, a.Value); err != nil {
			return nil, err
		}
	}
	if err := xmlChildren(dec, s, out); err != nil {
		return nil, err
	}
	if err := xmlTrailer(dec); err != nil {
		return nil, err
	}
	return out, nil
}

// xmlRoot skips the prolog (declaration, comments, whitespace) and returns
// the root element.
func xmlRoot(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.StartElement{}, malformed("request body is not XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xml.StartElement{}, malformed("request body is not XML: text before the root element")
			}
		}
	}
}

// xmlChildren reads the root's child elements up to its end tag.
func xmlChildren(dec *xml.Decoder, s schema, out fields) error {
	for {
		tok, err := dec.Token()
		if err != nil {
			return malformed("request body is not XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return malformed("unexpected text in %q", s.root)
			}
		case xml.StartElement:
			if _, known := s.fields[t.Name.Local]; !known {
				s.ignored.add(s.root, t.Name.Local)
				if err := dec.Skip(); err != nil {
					return malformed("request body is not XML: %v", err)
				}
				continue
			}
			text, err := xmlText(dec, t.Name.Local)
			if err != nil {
				return err
			}
			if err := setXMLField(out, s, t.Name.Local, text); err != nil {
				return err
			}
		}
	}
}

// xmlText reads the text content of an element whose start was just read.
func xmlText(dec *xml.Decoder, name string) (string, error) {
	var sb strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", malformed("request body is not XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.EndElement:
			return sb.String(), nil
		case xml.StartElement:
			return "", malformed("element %q must hold text only", name)
		}
	}
}

// xmlTrailer allows only whitespace, comments and processing instructions
// after the root element.
func xmlTrailer(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return malformed("request body is not XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return malformed("unexpected element %q after the root element", t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return malformed("unexpected text after the root element")
			}
		}
	}
}

// setXMLField checks one attribute (or child) and stores it, or records
// it as ignored when s does not know it.
func setXMLField(out fields, s schema, name, value string) error {
	typ, known := s.fields[name]
	if !known {
		s.ignored.add(s.root, name)
		return nil
	}
	value, err := checkField(fieldLabel(s.root, name), value, typ)
	if err != nil {
		return err
	}
	out[name] = value
	return nil
}

// surrogateCharRef reports whether data has a character reference to a
// UTF-16 surrogate (&#xD800; .. &#xDFFF;): not an XML character, yet
// encoding/xml turns it into U+FFFD instead of refusing it. The scan is of
// the raw bytes, so such a reference inside a comment or CDATA counts too.
func surrogateCharRef(data []byte) bool {
	for rest := data; ; {
		i := bytes.Index(rest, []byte("&#"))
		if i < 0 {
			return false
		}
		rest = rest[i+2:]
		end := bytes.IndexByte(rest, ';')
		if end < 0 {
			return false
		}
		ref, base := string(rest[:end]), 10
		if strings.HasPrefix(ref, "x") {
			ref, base = ref[1:], 16
		}
		if n, err := strconv.ParseUint(ref, base, 32); err == nil && n >= 0xD800 && n <= 0xDFFF {
			return true
		}
	}
}
