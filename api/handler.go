package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
)

// Backend is what the handlers call: the agent's API-facing surface. It is
// declared here, by its consumer, so tests can hand in a fake.
type Backend interface {
	agent.Service
}

// AttachmentWaiter is optionally implemented by a Backend that can block
// until an attachment reaches a status (the wait extension). Without it the
// handler polls GetAttachment, which is correct but slower to notice.
type AttachmentWaiter interface {
	// WaitAttachment returns once the port's attachment has the status (or
	// FAILED), or when ctx ends; then it returns the attachment as it is.
	WaitAttachment(ctx context.Context, tenant, netID, portID, status string) (*agent.Attachment, error)
}

// Option changes a default of NewHandler.
type Option func(*config)

type config struct {
	timeout      time.Duration // deadline of an ordinary request
	maxWait      time.Duration // cap on ?timeout= of the wait extension
	pollInterval time.Duration // how often a wait polls without AttachmentWaiter
}

// WithTimeout sets the deadline each request gets before it calls the
// backend (default 10s). A backend that does not answer in time becomes a
// serviceUnavailable fault.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithMaxWait caps how long a `?wait=` request may block (default 5 minutes).
func WithMaxWait(d time.Duration) Option { return func(c *config) { c.maxWait = d } }

// WithPollInterval sets how often a wait re-reads the attachment when the
// backend is not an AttachmentWaiter (default 250ms).
func WithPollInterval(d time.Duration) Option { return func(c *config) { c.pollInterval = d } }

// handler is the http.Handler NewHandler returns.
type handler struct {
	svc Backend
	log *slog.Logger
	cfg config
	mux *http.ServeMux
}

// NewHandler returns the HTTP handler of the whole API: both versions, the
// versions document, the extensions and their routes. It does not log
// requests (wrap it with AccessLog, or use NewServer).
func NewHandler(svc Backend, log *slog.Logger, opts ...Option) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{
		svc: svc,
		log: log,
		cfg: config{timeout: 10 * time.Second, maxWait: 5 * time.Minute, pollInterval: 250 * time.Millisecond},
		mux: http.NewServeMux(),
	}
	for _, o := range opts {
		o(&h.cfg)
	}
	h.routes()
	return h
}

// ServeHTTP strips the format suffix, negotiates the format, recovers
// panics, and hands the request to the mux.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tw := &trackingWriter{ResponseWriter: w}
	r, info := prepare(r)
	defer h.recoverPanic(tw, r, info)
	if !cleanPath(r.URL.Path) {
		// ServeMux would answer with a redirect and an HTML body; a
		// non-canonical path names no resource of ours.
		h.writeFault(r.Context(), tw, info, notFoundFault("No resource at "+r.URL.Path))
		return
	}
	h.mux.ServeHTTP(tw, r)
}

func (h *handler) recoverPanic(w *trackingWriter, r *http.Request, info reqInfo) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v) // the server's own way to abort a response: keep its meaning
	}
	h.log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", r.URL.Path,
		"panic", v, "stack", string(debug.Stack()))
	if !w.wrote {
		h.writeFault(r.Context(), w, info, internalFault())
	}
}

// trackingWriter remembers whether the header went out, so a recovered
// panic writes a fault only when it still can.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *trackingWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackingWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// request is what an endpoint sees: the HTTP request with its version,
// format and tenant already worked out.
type request struct {
	*http.Request
	w    http.ResponseWriter // for http.MaxBytesReader
	info reqInfo
}

func (r *request) tenant() string { return r.PathValue("tenant") }
func (r *request) netID() string  { return r.PathValue("net") }
func (r *request) portID() string { return r.PathValue("port") }

// created is the success code of a create: the release changed it.
func (r *request) created() int {
	if r.info.version == v10 {
		return http.StatusOK
	}
	return http.StatusAccepted
}

// reply is an endpoint's answer: a status and, unless 204, a document.
type reply struct {
	status int
	doc    *document
}

func noContent() (reply, error) { return reply{status: http.StatusNoContent}, nil }

// endpoint handles one method of one route.
type endpoint func(ctx context.Context, r *request) (reply, error)

// serve runs an endpoint under the request deadline and writes its reply or
// its fault. extra lengthens the deadline for routes that may block.
func (h *handler) serve(w http.ResponseWriter, hr *http.Request, ep endpoint, extra time.Duration) {
	info := infoOf(hr)
	ctx, cancel := context.WithTimeout(hr.Context(), h.cfg.timeout+extra)
	defer cancel()
	// Request metadata for every call, like a request id; only creates and
	// plugs read it (agent.WithIdempotencyKey says why it is not an argument).
	ctx = agent.WithIdempotencyKey(ctx, hr.Header.Get("Idempotency-Key"))
	rep, err := ep(ctx, &request{Request: hr, w: w, info: info})
	if err != nil {
		h.writeFault(ctx, w, info, h.faultFor(ctx, err))
		return
	}
	if rep.doc == nil {
		w.WriteHeader(rep.status)
		return
	}
	h.writeDoc(ctx, w, info, rep.status, *rep.doc)
}

// writeDoc encodes before writing the header, so an encoding failure can
// still become a fault.
func (h *handler) writeDoc(ctx context.Context, w http.ResponseWriter, info reqInfo, status int, doc document) {
	body, ctype, err := encode(doc, info.format, info.namespace())
	if err != nil {
		h.log.ErrorContext(ctx, "encode response", "key", doc.key, "err", err)
		if status >= 500 { // already a fault: do not recurse
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		h.writeFault(ctx, w, info, internalFault())
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	if _, err := w.Write(body); err != nil && !errors.Is(err, http.ErrHandlerTimeout) {
		h.log.DebugContext(ctx, "write response", "err", err)
	}
}
