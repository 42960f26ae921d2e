package api

import (
	"context"
	"fmt"
)

// Request bodies are read liberally, as the released server read them: a
// key the agent does not know is skipped (the released CLI sends ids in
// updates, Nova 2012.1 sends nova_id, vm_id, rxtx_factor, ...). Skipping
// is not silent: each ignored key is logged at debug and counted.

// ignoredKey is a key of a request body that the decoder skipped; object
// is the body's object ("network", "port", "attachment") or topObject.
type ignoredKey struct{ object, key string }

// maxLoggedKeys bounds one log line: a 1 MiB body can hold many keys.
const maxLoggedKeys = 20

// decodeBody reads the request body against s (see request.body) and
// reports the keys it ignored.
func (h *handler) decodeBody(ctx context.Context, r *request, s schema, optional bool) (fields, error) {
	s.ignored = &ignoredKeys{}
	f, err := r.body(s, optional)
	if err != nil {
		return nil, err
	}
	h.reportIgnored(ctx, r, s.ignored.keys)
	return f, nil
}

func (h *handler) reportIgnored(ctx context.Context, r *request, ignored []ignoredKey) {
	if len(ignored) == 0 {
		return
	}
	perObject := map[string]int{}
	names := make([]string, 0, min(len(ignored), maxLoggedKeys))
	for _, k := range ignored {
		perObject[k.object]++
		if len(names) < maxLoggedKeys {
			names = append(names, k.object+"."+k.key)
		}
	}
	if more := len(ignored) - len(names); more > 0 {
		names = append(names, fmt.Sprintf("(%d more)", more))
	}
	h.log.DebugContext(ctx, "ignored unknown keys in request body",
		"method", r.Method, "path", r.URL.Path, "keys", names)
	// Counted by object, never by key name: the names are the client's,
	// unbounded.
	if m := h.cfg.metrics; m != nil {
		for _, obj := range sortedKeys(perObject) {
			m.countIgnored(obj, perObject[obj])
		}
	}
}
