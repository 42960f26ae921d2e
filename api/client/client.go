package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultSocket is where the packaged agent listens.
const DefaultSocket = "/run/quantum/quantum.sock"

// DefaultTimeout bounds each call unless WithTimeout says otherwise. The agent
// answers from its database, so anything slower than this means it is stuck.
const DefaultTimeout = 30 * time.Second

// APIVersion selects the URL prefix and, with it, the fault format and status
// codes the agent uses.
type APIVersion string

// The API versions quantum-agent serves.
const (
	V10 APIVersion = "v1.0"
	V11 APIVersion = "v1.1"
)

// unixBaseURL is the URL requests carry when they go over the socket; the
// transport ignores the host, which only shows up in the Host header.
const unixBaseURL = "http://quantum-agent"

// Client talks to one quantum-agent. It is safe for concurrent use.
type Client struct {
	socket    string
	baseURL   string
	customURL bool
	http      *http.Client
	version   APIVersion
	timeout   time.Duration
	retry     RetryPolicy
}

// Option configures a Client in New.
type Option func(*Client)

// WithAPIVersion chooses v1.0 or v1.1 (the default).
func WithAPIVersion(v APIVersion) Option {
	return func(c *Client) { c.version = v }
}

// WithTimeout bounds each try of a call (see RetryPolicy); zero leaves only
// the caller's context, which bounds the whole call, retries included.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = d }
}

// WithHTTPClient replaces the HTTP client, transport included; the socket path
// passed to New is then only used in error messages.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithBaseURL sends requests to base (e.g. an httptest server's URL) instead
// of the socket. Unless WithHTTPClient is also given they go over plain TCP.
func WithBaseURL(base string) Option {
	return func(c *Client) {
		c.baseURL = strings.TrimRight(base, "/")
		c.customURL = true
	}
}

// New returns a client for the agent listening on socketPath (DefaultSocket
// when empty). It does not connect: the first call does.
func New(socketPath string, opts ...Option) *Client {
	if socketPath == "" {
		socketPath = DefaultSocket
	}
	c := &Client{
		socket:  socketPath,
		baseURL: unixBaseURL,
		version: V11,
		timeout: DefaultTimeout,
		retry:   DefaultRetryPolicy(),
	}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		if c.customURL {
			c.http = &http.Client{}
		} else {
			c.http = &http.Client{Transport: unixTransport(socketPath)}
		}
	}
	return c
}

// unixTransport dials the agent's socket for every connection, whatever the
// URL says. Proxies are off: environment proxies make no sense for a socket.
func unixTransport(path string) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		// Every request goes to the one agent, so the per-host limit is the
		// limit: keep enough idle connections for a compute service's
		// workers (net/http's default of 2 makes them redial constantly).
		MaxIdleConns:        32,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
	}
}

// APIVersion reports the version this client speaks.
func (c *Client) APIVersion() APIVersion { return c.version }

// Target names what the client talks to, for messages: the socket path, or
// the base URL when one was given.
func (c *Client) Target() string {
	if c.customURL && c.baseURL != "" {
		return c.baseURL
	}
	return c.socket
}

// call is one HTTP exchange. in, when non-nil, is sent as the JSON body; out,
// when non-nil, receives the JSON response body.
type call struct {
	method string
	path   string // already escaped, starting with "/"
	query  url.Values
	in     any
	out    any
	// extra lengthens the deadline for calls the agent may hold on purpose
	// (the wait extension).
	extra time.Duration
	// keyed calls (creates and plugs) carry an Idempotency-Key, which makes
	// them safe to retry.
	keyed bool
}

// do runs a call, retrying it as the RetryPolicy says.
func (c *Client) do(ctx context.Context, k call) error {
	if c.version != V10 && c.version != V11 {
		return fmt.Errorf("unsupported API version %q (want %s or %s)", c.version, V10, V11)
	}
	var body []byte
	if k.in != nil {
		var err error
		if body, err = json.Marshal(k.in); err != nil {
			return fmt.Errorf("%s %s: encode request: %w", k.method, k.path, err)
		}
	}
	key := ""
	if k.keyed {
		key = idempotencyKey(ctx) // one key for every try: that is the point
	}
	attempts := c.retry.Attempts
	if !k.repeatable() {
		attempts = 1
	}
	for try := 1; ; try++ {
		err := c.try(ctx, k, body, key)
		if err == nil || try >= attempts || !worthRetrying(err) {
			return err
		}
		// The caller gave up (before or during the pause): say so, and keep
		// the last try's error too, for errors.Is on either.
		perr := ctx.Err()
		if perr == nil {
			perr = pause(ctx, c.retry.wait(try))
		}
		if perr != nil {
			return fmt.Errorf("%s %s: stopped retrying: %w (last try: %w)", k.method, k.path, perr, err)
		}
	}
}

// try is one exchange, under its own deadline.
func (c *Client) try(ctx context.Context, k call, body []byte, key string) error {
	callCtx := ctx
	if c.timeout > 0 {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, c.timeout+k.extra)
		defer cancel()
	}
	req, err := c.newRequest(callCtx, k, body, key)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(ctx, k, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeFault(resp)
	}
	if k.out == nil || resp.StatusCode == http.StatusNoContent {
		// Drain so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(k.out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", k.method, k.path, err)
	}
	return nil
}

func (c *Client) newRequest(ctx context.Context, k call, body []byte, key string) (*http.Request, error) {
	u := c.baseURL + k.path
	if len(k.query) > 0 {
		u += "?" + k.query.Encode() // Encode sorts keys: stable URLs in logs and tests.
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", k.method, k.path, err)
	}
	// The agent picks the format from Content-Type, then Accept: say JSON in
	// both so a fault comes back in the format we decode.
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set(IdempotencyKeyHeader, key)
	}
	return req, nil
}

// transportError turns a failed exchange into something a person can act on:
// an agent that is not there, one that did not answer in time, or the
// caller's own cancellation.
func (c *Client) transportError(ctx context.Context, k call, err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return &UnreachableError{Target: c.Target(), Err: err}
	}
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("quantum-agent at %s did not answer %s %s within %s: %w",
			c.Target(), k.method, k.path, c.timeout+k.extra, err)
	}
	return fmt.Errorf("%s %s: %w", k.method, k.path, err)
}

// tenantPath builds /v1.x/tenants/{tenant}/{parts...}, escaping each part.
// Empty ids are refused here: they would silently address another route.
func (c *Client) tenantPath(tenant string, parts ...string) (string, error) {
	if tenant == "" {
		return "", errors.New("tenant is required")
	}
	var b strings.Builder
	b.WriteString("/" + string(c.version) + "/tenants/" + url.PathEscape(tenant))
	for i, p := range parts {
		if p == "" {
			what := "id"
			if i > 0 {
				what = strings.TrimSuffix(parts[i-1], "s") + " id"
			}
			return "", fmt.Errorf("%s is required", what)
		}
		b.WriteString("/" + url.PathEscape(p))
	}
	return b.String(), nil
}

// filterQuery turns list filters into a query string; the agent ANDs them.
func filterQuery(filters map[string]string) url.Values {
	if len(filters) == 0 {
		return nil
	}
	q := make(url.Values, len(filters))
	for k, v := range filters {
		q.Set(k, v)
	}
	return q
}
