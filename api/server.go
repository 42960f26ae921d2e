package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// The bounds NewServer puts on a request unless a ServerOption changes
// them (docs/api.md, "Request limits").
const (
	// defaultReadHeaderTimeout bounds the request line and headers.
	defaultReadHeaderTimeout = 10 * time.Second
	// defaultReadTimeout bounds the whole request, headers and body: a
	// valid body is at most 1 MiB, which a local socket moves in
	// milliseconds, so only a stuck or hostile client comes near it.
	defaultReadTimeout = 30 * time.Second
	// defaultWriteTimeout bounds the sending of a response, counted from
	// its first byte: a handler that waits (the wait extension, up to
	// minutes) is not cut, a client that stops reading is.
	defaultWriteTimeout = 30 * time.Second
	// defaultMaxHeaderBytes: the API's requests carry a few short headers;
	// 16 KiB leaves room for proxies' and tools' additions.
	defaultMaxHeaderBytes = 16 << 10
	defaultIdleTimeout    = 2 * time.Minute
)

// ServerOption changes a default of NewServer.
type ServerOption func(*serverConfig)

type serverConfig struct {
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	maxHeaderBytes    int
	idleTimeout       time.Duration
}

// WithReadHeaderTimeout bounds the reading of a request's headers
// (default 10s).
func WithReadHeaderTimeout(d time.Duration) ServerOption {
	return func(c *serverConfig) { c.readHeaderTimeout = d }
}

// WithReadTimeout bounds the reading of a whole request, headers and body
// (default 30s). A client that sends slower gets its connection cut.
func WithReadTimeout(d time.Duration) ServerOption {
	return func(c *serverConfig) { c.readTimeout = d }
}

// WithWriteTimeout bounds the sending of each response from its first byte
// (default 30s); the time a handler takes before answering is not counted.
func WithWriteTimeout(d time.Duration) ServerOption {
	return func(c *serverConfig) { c.writeTimeout = d }
}

// WithMaxHeaderBytes bounds a request's line and headers (default 16 KiB);
// more is answered by net/http with 431 Request Header Fields Too Large.
func WithMaxHeaderBytes(n int) ServerOption {
	return func(c *serverConfig) { c.maxHeaderBytes = n }
}

// Server is the API's http.Server. Its Serve wraps the listener so that
// v1.0 faults carry Quantum's names on their status line (reason.go); use
// it, not the embedded http.Server's, to serve.
type Server struct {
	*http.Server
}

// NewServer returns the server for the API socket: h wrapped in the access
// log, peer credentials recorded per connection, each request bounded in
// time and size (limits.go), and Quantum's reason phrases on v1.0 fault
// status lines. The caller serves it on Listen's listener (or systemd's)
// with Serve and stops it with Shutdown.
func NewServer(h http.Handler, log *slog.Logger, opts ...ServerOption) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := serverConfig{
		readHeaderTimeout: defaultReadHeaderTimeout,
		readTimeout:       defaultReadTimeout,
		writeTimeout:      defaultWriteTimeout,
		maxHeaderBytes:    defaultMaxHeaderBytes,
		idleTimeout:       defaultIdleTimeout,
	}
	for _, o := range opts {
		o(&cfg)
	}
	chain := boundRequest(cfg.writeTimeout, withReasonPhrases(quantumReasons(), AccessLog(log, h)))
	return &Server{Server: &http.Server{
		Handler:           chain,
		ConnContext:       ConnContext,
		ReadHeaderTimeout: cfg.readHeaderTimeout,
		// ReadTimeout covers headers and body only (limits.go): it never
		// cancels a request that waits.
		ReadTimeout: cfg.readTimeout,
		// No WriteTimeout: net/http counts it from the end of the headers,
		// which would cut the wait extension; boundRequest sets a write
		// deadline per response instead.
		MaxHeaderBytes: cfg.maxHeaderBytes,
		IdleTimeout:    cfg.idleTimeout,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
}

// Serve serves the API on l; each connection is wrapped to carry Quantum's
// reason phrases.
func (s *Server) Serve(l net.Listener) error {
	return s.Server.Serve(reasonListener{l})
}

// Peer is the process at the other end of a Unix connection, as the kernel
// vouches for it (SO_PEERCRED).
type Peer struct {
	UID uint32
	GID uint32
	PID int32
}

type peerKey struct{}

// ConnContext is an http.Server ConnContext: it records the peer's
// credentials of a Unix connection in the connection's context, read once
// when the connection is accepted, and the connection itself when it is
// one of Server.Serve's (for the reason phrases).
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if rc, ok := c.(*reasonConn); ok {
		ctx = context.WithValue(ctx, reasonConnKey{}, rc)
		c = rc.Conn
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	p, err := peerCred(uc)
	if err != nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, p)
}

// PeerFromContext returns the peer recorded by ConnContext.
func PeerFromContext(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}
