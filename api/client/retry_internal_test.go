package client

import (
	"net/http"
	"testing"
	"time"
)

// TestRepeatable: a POST is repeated only with an Idempotency-Key.
func TestRepeatable(t *testing.T) {
	cases := map[string]struct {
		k    call
		want bool
	}{
		"POST without key": {call{method: http.MethodPost}, false},
		"POST with key":    {call{method: http.MethodPost, keyed: true}, true},
		"GET":              {call{method: http.MethodGet}, true},
		"PUT":              {call{method: http.MethodPut}, true},
		"DELETE":           {call{method: http.MethodDelete}, true},
		"PATCH":            {call{method: http.MethodPatch}, false},
	}
	for name, tc := range cases {
		if got := tc.k.repeatable(); got != tc.want {
			t.Errorf("%s: repeatable = %v, want %v", name, got, tc.want)
		}
	}
}

// TestBackoff: waits double up to the cap, each jittered within its upper
// half.
func TestBackoff(t *testing.T) {
	p := DefaultRetryPolicy()
	var total time.Duration
	for try := 1; try < p.Attempts; try++ {
		full := min(p.Backoff<<(try-1), p.MaxBackoff)
		w := p.wait(try)
		if w < full/2 || w > full {
			t.Errorf("wait after try %d = %v, want within [%v, %v]", try, w, full/2, full)
		}
		total += full
	}
	if total > 10*time.Second {
		t.Errorf("default policy waits up to %v in all, want about 10 s at most", total)
	}
	if w := (RetryPolicy{Attempts: 3}).wait(1); w != 0 {
		t.Errorf("no backoff configured: wait %v", w)
	}
}
