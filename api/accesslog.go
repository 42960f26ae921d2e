package api

import (
	"log/slog"
	"net/http"
	"time"
)

// AccessLog logs one line per request: method, path (as sent, suffix
// included), status, size, duration and, on a Unix socket, the peer's
// uid/gid/pid, which is who did it since there is no other auth.
func AccessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		path := r.URL.Path
		defer func() {
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("path", path),
				slog.Int("status", sw.statusCode()),
				slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", time.Since(start)),
			}
			if p, ok := PeerFromContext(r.Context()); ok {
				attrs = append(attrs, slog.Any("uid", p.UID), slog.Any("gid", p.GID), slog.Any("pid", p.PID))
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter records what the handler wrote: for the log line, the
// metrics, and whether a recovered panic can still write a fault.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) statusCode() int {
	if w.status == 0 {
		return http.StatusOK // nothing written: net/http sends 200
	}
	return w.status
}

// wrote reports whether the header went out.
func (w *statusWriter) wrote() bool { return w.status != 0 }
