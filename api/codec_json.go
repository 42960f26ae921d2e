package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
)

// decodeJSON reads {"<root>": {attr: value, ...}} strictly: the root key
// must be the only top-level key and every attribute must be in s, with
// the type s says. A null attribute counts as absent.
func decodeJSON(data []byte, s schema) (fields, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return nil, malformed("request body is not a JSON object: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed("unexpected data after the JSON object")
	}
	for _, k := range sortedKeys(top) {
		if k != s.root {
			return nil, unknownKey(k)
		}
	}
	raw, ok := top[s.root]
	if !ok {
		return nil, malformed("missing key %q in request body", s.root)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, malformed("%q must be an object", s.root)
	}
	out := fields{}
	for _, k := range sortedKeys(obj) {
		typ, known := s.fields[k]
		if !known {
			return nil, unknownAttribute(s.root, k)
		}
		v := obj[k]
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			continue
		}
		text, err := jsonScalar(v, typ)
		if err != nil {
			return nil, malformed("attribute %q of %q: %v", k, s.root, err)
		}
		out[k] = text
	}
	return out, nil
}

// jsonScalar checks a JSON value against typ and returns it as text.
func jsonScalar(v json.RawMessage, typ fieldType) (string, error) {
	if typ == intField {
		var n int64
		if err := json.Unmarshal(v, &n); err != nil {
			return "", errors.New("must be an integer")
		}
		return strconv.FormatInt(n, 10), nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", errors.New("must be a string")
	}
	return s, nil
}

// sortedKeys makes error details deterministic when several keys are wrong.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
