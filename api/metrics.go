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

// observe counts and times one request. r is the request the handler's
// ServeMux served: its Pattern names the route ("" when no route was
// reached, e.g. a non-canonical path).
func (m *Metrics) observe(r *http.Request, code int, took time.Duration) {
	route, method := routeLabel(r.Pattern), normalMethod(r.Method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route, method).Observe(took.Seconds())
}

// countIgnored counts the request-body keys skipped as unknown.
func (m *Metrics) countIgnored(object string, n int) {
	m.ignoredKeys.WithLabelValues(object).Add(float64(n))
}

// routeLabel is a route pattern as a label: the catch-all "/" (a 404
// fault) and no pattern at all are both "unknown".
func routeLabel(pattern string) string {
	if pattern == "" || pattern == "/" {
		return "unknown"
	}
	return pattern
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
