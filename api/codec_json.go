package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
)

// decodeJSON reads {"<root>": {attr: value, ...}, ...}: the root key is
// required; keys s does not know, at the top level or inside the root, are
// ignored whatever their value; known keys must have the type s says. A
// null attribute counts as absent.
func decodeJSON(data []byte, s schema) (fields, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil || top == nil {
		return nil, malformed("request body is not a JSON object: %v", errOrNull(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed("unexpected data after the JSON object")
	}
	raw, ok := top[s.root]
	if !ok {
		return nil, missingRoot(s.root)
	}
	out := fields{}
	for _, k := range sortedKeys(top) {
		if k == s.root {
			continue
		}
		typ, known := s.top[k]
		if !known {
			s.ignored.add(topObject, k)
			continue
		}
		if err := setJSONField(out, k, k, top[k], typ); err != nil {
			return nil, err
		}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, malformed("%q must be an object", s.root)
	}
	for _, k := range sortedKeys(obj) {
		typ, known := s.fields[k]
		if !known {
			s.ignored.add(s.root, k)
			continue
		}
		if err := setJSONField(out, k, fieldLabel(s.root, k), obj[k], typ); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func errOrNull(err error) error {
	if err == nil {
		return errors.New("null")
	}
	return err
}

// setJSONField checks one known value and stores it under key; label names
// it in a detail.
func setJSONField(out fields, key, label string, v json.RawMessage, typ fieldType) error {
	if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil
	}
	text, err := jsonScalar(label, v, typ)
	if err != nil {
		return err
	}
	if text, err = checkField(label, text, typ); err != nil {
		return err
	}
	out[key] = text
	return nil
}

// jsonScalar checks a JSON value against typ and returns it as text. A
// string must not escape a lone surrogate ("\ud800"): encoding/json would
// turn it into U+FFFD, a character the client never sent.
func jsonScalar(label string, v json.RawMessage, typ fieldType) (string, error) {
	if typ == intField {
		var n int64
		if err := json.Unmarshal(v, &n); err != nil {
			return "", malformed("%s must be an integer", label)
		}
		return string(bytes.TrimSpace(v)), nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", malformed("%s must be a string", label)
	}
	if loneSurrogate(v) {
		return "", malformed("%s is not valid UTF-8 (it escapes a lone surrogate)", label)
	}
	return s, nil
}

// loneSurrogate reports whether the JSON string literal lit (already known
// to be valid JSON) has a \u escape of a UTF-16 surrogate that is not half
// of a high-low pair.
func loneSurrogate(lit []byte) bool {
	pendingHigh := false
	for i := 0; i < len(lit); i++ {
		if lit[i] != '\\' {
			if pendingHigh {
				return true
			}
			continue
		}
		i++ // the escaped character
		if lit[i] != 'u' {
			if pendingHigh {
				return true
			}
			continue
		}
		r := hex4(lit[i+1 : i+5])
		i += 4
		switch {
		case r >= 0xD800 && r < 0xDC00: // high half
			if pendingHigh {
				return true
			}
			pendingHigh = true
		case r >= 0xDC00 && r < 0xE000: // low half
			if !pendingHigh {
				return true
			}
			pendingHigh = false
		default:
			if pendingHigh {
				return true
			}
		}
	}
	return pendingHigh
}

// hex4 decodes four hex digits (valid: the literal parsed as JSON).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// sortedKeys makes error details and logs deterministic.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
