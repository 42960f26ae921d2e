package api

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// Each request is bounded in time and size (docs/api.md, "Request limits"):
//
//   - headers: ReadHeaderTimeout and MaxHeaderBytes (net/http);
//   - headers and body together: ReadTimeout (net/http). It ends where the
//     body does: net/http clears the read deadline when it starts watching
//     the idle connection during the handler, so a request that waits (the
//     wait extension, up to 5 minutes) is not cut (TestReadTimeoutSparesWaits);
//   - the body's size: 1 MiB (body.go), refused on Content-Length before a
//     byte is read;
//   - the response: a write deadline from its first byte (boundRequest).

// maxDrain bounds how much of a refused (413) body is read and thrown
// away so that a client that writes its whole body before reading gets to
// read the answer instead of a reset connection. Bigger bodies are cut.
const maxDrain = 4 << 20

// boundRequest applies the per-request bounds net/http has no setting for.
func boundRequest(writeTimeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// A deadline left by the previous response on this connection
		// must not shorten this one's wait.
		_ = rc.SetWriteDeadline(time.Time{})
		bw := &boundedWriter{ResponseWriter: w, rc: rc, timeout: writeTimeout}
		next.ServeHTTP(bw, r)
		if bw.status == http.StatusRequestEntityTooLarge && r.Body != nil && !expectsContinue(r) {
			answerThenDrain(rc, r.Body)
		}
	})
}

// answerThenDrain sends the 413 at once (net/http marks it Connection:
// close, the body being unread), then reads a bounded amount of the body,
// under the request's read deadline, so the client's write can complete
// and it reads the answer. A body already read to its end costs nothing.
func answerThenDrain(rc *http.ResponseController, body io.Reader) {
	_ = rc.Flush()
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxDrain))
}

// expectsContinue: reading the body would make net/http send "100
// Continue", inviting the very body we refuse; without it the client sends
// nothing and net/http closes the connection after the answer.
func expectsContinue(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Expect"), "100-continue")
}

// boundedWriter starts the write deadline at the response's first byte and
// remembers the status.
type boundedWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	status  int
}

func (w *boundedWriter) start(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	if w.timeout > 0 {
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
}

func (w *boundedWriter) WriteHeader(code int) {
	if code >= 200 {
		w.start(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *boundedWriter) Write(b []byte) (int, error) {
	w.start(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w *boundedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
