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

// Option changes a default of NewHandler.
type Option func(*config)

type config struct {
	timeout time.Duration // deadline of an ordinary request
	maxWait time.Duration // cap on ?timeout= of the wait extension
	status  func() Status // answers StatusPath; nil: no status endpoint
	metrics *Metrics      // nil: requests are not counted
}

// WithTimeout sets the deadline each request gets before it calls the
// service (default 10s). A service that does not answer in time becomes a
// serviceUnavailable fault.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithMaxWait caps how long a `?wait=` request may block (default 5 minutes).
func WithMaxWait(d time.Duration) Option { return func(c *config) { c.maxWait = d } }

// WithStatus serves GET StatusPath from status, which is called once per
// request (the daemon fills it: api knows nothing of databases or
// datapaths). Without it StatusPath is a 404 like any unknown path.
func WithStatus(status func() Status) Option { return func(c *config) { c.status = status } }

// WithMetrics counts and times every request in m, by route pattern, and
// counts the request-body keys the decoder ignored.
func WithMetrics(m *Metrics) Option { return func(c *config) { c.metrics = m } }

// handler is the http.Handler NewHandler returns.
type handler struct {
	svc agent.Service
	log *slog.Logger
	cfg config
	mux *http.ServeMux
}

// NewHandler returns the HTTP handler of the whole API: both versions, the
// versions document, the extensions and their routes, and what the options
// add (the status endpoint, metrics). It does not log requests (wrap it
// with AccessLog, or use NewServer).
func NewHandler(svc agent.Service, log *slog.Logger, opts ...Option) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{
		svc: svc,
		log: log,
		cfg: config{timeout: 10 * time.Second, maxWait: 5 * time.Minute},
		mux: http.NewServeMux(),
	}
	for _, o := range opts {
		o(&h.cfg)
	}
	h.routes()
	return h
}

// ServeHTTP strips the format suffix, negotiates the format, recovers
// panics, hands the request to the mux and, with WithMetrics, records it
// under the route pattern the mux matched.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	r, info := prepare(r)
	if m := h.cfg.metrics; m != nil {
		start := time.Now()
		// Deferred first, so it runs last: after a recovered panic's fault.
		defer func() { m.observe(r, sw.statusCode(), time.Since(start)) }()
	}
	defer h.recoverPanic(sw, r, info)
	if !cleanPath(r.URL.Path) {
		// ServeMux would answer with a redirect and an HTML body; a
		// non-canonical path names no resource of ours.
		h.writeFault(r.Context(), sw, info, notFoundFault("No resource at "+r.URL.Path))
		return
	}
	// ServeMux sets r.Pattern on this request before calling the route's
	// handler: observe reads it.
	h.mux.ServeHTTP(sw, r)
}

func (h *handler) recoverPanic(w *statusWriter, r *http.Request, info reqInfo) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v) // the server's own way to abort a response: keep its meaning
	}
	h.log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", r.URL.Path,
		"panic", v, "stack", string(debug.Stack()))
	if !w.wrote() {
		h.writeFault(r.Context(), w, info, internalFault())
	}
}

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
