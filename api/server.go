package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// NewServer returns the http.Server for the API socket: h wrapped in the
// access log, peer credentials recorded per connection, and header and
// idle timeouts so a stuck client cannot hold a connection forever. The
// caller serves it on Listen's listener and stops it with Shutdown.
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           AccessLog(log, h),
		ConnContext:       ConnContext,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
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
// when the connection is accepted.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
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
