package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

// maxBody bounds a request body: no valid body comes close, and an
// unbounded read would let one client exhaust the agent's memory.
const maxBody = 1 << 20

// body reads and decodes the request body against s. An empty body is an
// error unless optional (only port create allows one).
func (r *request) body(s schema, optional bool) (fields, error) {
	if r.ContentLength > maxBody {
		// Refused before a byte is read; the server then drains a bounded
		// amount so the client reads this answer (limits.go).
		return nil, &http.MaxBytesError{Limit: maxBody}
	}
	var data []byte
	if r.Body != nil {
		var err error
		data, err = io.ReadAll(http.MaxBytesReader(r.w, r.Body, maxBody))
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err // faultFor turns it into overLimit
		}
		if err != nil {
			return nil, malformed("reading request body: %v", err)
		}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if optional {
			return fields{}, nil
		}
		return nil, malformed("request body is empty")
	}
	return decode(data, r.info.format, s)
}
