package api

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/quantum-agent/quantum-agent/agent"
)

// Quantum v1.0 answers its faults with codes of its own (420 networkNotFound,
// 470 serviceUnavailable, ...). net/http writes Go's reason phrase on the
// status line ("421 Misdirected Request", "440 status code 440") and offers
// no way to choose another, so the phrase is rewritten on the connection:
// withReasonPhrases tells the connection which status line the handler is
// about to send, and reasonConn rewrites exactly that line, once, as it
// goes out. Everything else passes through untouched; in particular what
// net/http sends by itself (its own 431 for oversized headers) keeps Go's
// phrase, since no handler announced it.

// quantumReasons maps each status code that only Quantum v1.0 gives a
// meaning to (the codes v1.1 replaced by standard ones) to its fault name,
// from THE fault table.
func quantumReasons() map[int]string {
	reasons := map[int]string{}
	for _, k := range agent.AllKinds() {
		if f := faultOf(k); f.v10Code != f.v11Code {
			reasons[f.v10Code] = f.v10Name
		}
	}
	return reasons
}

type reasonConnKey struct{}

// withReasonPhrases arms the request's connection whenever next writes a
// status that has a Quantum reason.
func withReasonPhrases(reasons map[int]string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, ok := reasonConnOf(r.Context())
		if !ok {
			next.ServeHTTP(w, r) // not served by Server.Serve: Go's phrases
			return
		}
		next.ServeHTTP(&reasonWriter{ResponseWriter: w, conn: rc, reasons: reasons, proto: r.Proto}, r)
	})
}

// reasonWriter announces the status line of the response to its connection.
type reasonWriter struct {
	http.ResponseWriter
	conn    *reasonConn
	reasons map[int]string
	proto   string
	wrote   bool
}

func (w *reasonWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.wrote = true
		if name, ok := w.reasons[code]; ok {
			w.conn.expect(goStatusLine(w.proto, code), statusLine(w.proto, code, name))
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *reasonWriter) Write(b []byte) (int, error) {
	w.wrote = true // an implicit 200: nothing to rename
	return w.ResponseWriter.Write(b)
}

func (w *reasonWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// goStatusLine is the status line net/http writes for code (its
// writeStatusLine): the standard phrase, or "status code NNN" for a code it
// does not know.
func goStatusLine(proto string, code int) []byte {
	text := http.StatusText(code)
	if text == "" {
		text = "status code " + strconv.Itoa(code)
	}
	return statusLine(proto, code, text)
}

func statusLine(proto string, code int, reason string) []byte {
	if proto != "HTTP/1.0" {
		proto = "HTTP/1.1" // what net/http answers any other HTTP/1.x with
	}
	return []byte(proto + " " + strconv.Itoa(code) + " " + reason + "\r\n")
}

// reasonListener wraps each accepted connection in a reasonConn.
type reasonListener struct{ net.Listener }

func (l reasonListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &reasonConn{Conn: c}, nil
}

// reasonConn rewrites the status line it was told to expect, if the next
// write begins with exactly it. net/http flushes each response's head at
// the start of a write, so that is where the line is; if it is not there,
// nothing is rewritten.
type reasonConn struct {
	net.Conn
	mu       sync.Mutex
	from, to []byte
}

func (c *reasonConn) expect(from, to []byte) {
	c.mu.Lock()
	c.from, c.to = from, to
	c.mu.Unlock()
}

func (c *reasonConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	from, to := c.from, c.to
	c.from, c.to = nil, nil // one write only: later ones are not heads we announced
	c.mu.Unlock()
	if from == nil || !bytes.HasPrefix(b, from) {
		return c.Conn.Write(b)
	}
	out := make([]byte, 0, len(b)-len(from)+len(to))
	out = append(append(out, to...), b[len(from):]...)
	n, err := c.Conn.Write(out)
	// Report progress in the caller's bytes.
	if n < len(to) {
		return 0, err
	}
	return n - len(to) + len(from), err
}

// CloseWrite keeps net/http's graceful close (FIN before close, so a
// client still reads the last answer) working through the wrapper.
func (c *reasonConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// reasonConnOf returns the connection of a request served by Server.Serve.
func reasonConnOf(ctx context.Context) (*reasonConn, bool) {
	rc, ok := ctx.Value(reasonConnKey{}).(*reasonConn)
	return rc, ok
}
