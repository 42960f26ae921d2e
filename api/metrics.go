package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts and times API requests. Requests are labelled by route
// pattern (e.g. "/v1.1/tenants/{tenant}/networks/{net}"), never by raw path:
// ids in paths would make a series per network and port.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// ignoredKeys counts request-body keys skipped as unknown, by object
	// ("network", "port", "attachment", "top"): a client sending keys we
	// do not know shows here (their names go to the debug log).
	ignoredKeys *prometheus.CounterVec
}

// NewMetrics creates the API metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quantum_agent_api_requests_total",
			Help: "API requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "quantum_agent_api_request_duration_seconds",
			Help: "Time to serve an API request, by route pattern and method (waits of the wait extension included).",
			// Requests are answered from a cache (ms) or wait for a DB
			// transaction (tens of ms); the wait extension holds up to minutes.
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"route", "method"}),
		ignoredKeys: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quantum_agent_api_ignored_keys_total",
			Help: "Unknown keys ignored in API request bodies, by the object that held them (top for the top level).",
		}, []string{"object"}),
	}
	// Every object's series exists from the start, at 0: a rate() over
	// it then works before the first unknown key arrives.
	for _, obj := range []string{"network", "port", "attachment", topObject} {
		m.ignoredKeys.WithLabelValues(obj)
	}
	reg.MustRegister(m.requests, m.duration, m.ignoredKeys)
	return m
}

// Wrap returns next with each request counted and timed. next is the API
// handler (NewHandler, possibly under WithStatus); the route is resolved
// the way the API handler itself resolves it.
func (m *Metrics) Wrap(next http.Handler) http.Handler {
	route := routeNamer(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		name := route(r)
		defer func() {
			method := normalMethod(r.Method)
			m.requests.WithLabelValues(name, method, strconv.Itoa(sw.statusCode())).Inc()
			m.duration.WithLabelValues(name, method).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r.WithContext(withIgnoredKeyCounter(r.Context(), m)))
	})
}

// countIgnored makes Metrics the handler's ignoredKeyCounter.
func (m *Metrics) countIgnored(object string, n int) {
	m.ignoredKeys.WithLabelValues(object).Add(float64(n))
}

// routeNamer returns how to name a request's route for h: the pattern of
// the API's ServeMux that serves it, "/status" for the status endpoint, and
// "other" for handlers it does not know.
func routeNamer(h http.Handler) func(*http.Request) string {
	switch v := h.(type) {
	case *handler:
		return func(r *http.Request) string {
			r2, _ := prepare(r)
			_, pattern := v.mux.Handler(r2)
			if pattern == "" || pattern == "/" {
				return "unknown" // the catch-all: a 404 fault
			}
			return pattern
		}
	case *withStatus:
		inner := routeNamer(v.next)
		return func(r *http.Request) string {
			if r.URL.Path == StatusPath {
				return StatusPath
			}
			return inner(r)
		}
	}
	return func(*http.Request) string { return "other" }
}

// normalMethod keeps the method label bounded: anything but the methods
// the API knows counts as "other".
func normalMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete:
		return m
	}
	return "other"
}
