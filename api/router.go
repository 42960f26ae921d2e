package api

import (
	"context"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// The API versions served; each is a path prefix and an XML namespace.
const (
	v10 = "v1.0"
	v11 = "v1.1"
)

// reqInfo is what is known of a request before routing: its API version
// ("" outside /v1.x), the format of its body and response, and whether the
// path named that format with a suffix.
type reqInfo struct {
	version  string
	format   format
	suffixed bool
}

// namespace is the XML namespace of the version's documents ("" outside a
// version: the versions document and plain faults carry none).
func (i reqInfo) namespace() string {
	if i.version == "" {
		return ""
	}
	return "http://openstack.org/quantum/api/" + i.version
}

type infoKey struct{}

// prepare strips a .json/.xml suffix from the last path segment (it chooses
// the format and is not part of the route), negotiates the format, and
// records both in the request's context for the endpoints.
func prepare(r *http.Request) (*http.Request, reqInfo) {
	p, suffix := stripSuffix(r.URL.Path)
	info := reqInfo{version: versionOf(p), format: negotiate(r, suffix), suffixed: suffix != formatNone}
	r2 := r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
	if p != r.URL.Path {
		u := *r.URL
		u.Path = p
		if u.RawPath != "" {
			u.RawPath, _ = stripSuffix(u.RawPath)
		}
		r2.URL = &u
	}
	return r2, info
}

func infoOf(r *http.Request) reqInfo {
	info, _ := r.Context().Value(infoKey{}).(reqInfo)
	return info
}

// versionOf tells which API version a path belongs to.
func versionOf(p string) string {
	for _, v := range []string{v10, v11} {
		if p == "/"+v || strings.HasPrefix(p, "/"+v+"/") {
			return v
		}
	}
	return ""
}

// cleanPath reports whether p is canonical, as ServeMux would otherwise
// redirect it.
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	// A trailing slash is kept by ServeMux, except on the root: "//"
	// cleans to "/" and would be redirected (found by FuzzRouter).
	return c == p || (c != "/" && strings.HasSuffix(p, "/") && c+"/" == p)
}

// methods maps each method a route allows to its endpoint.
type methods map[string]endpoint

// routes registers every route of both versions; anything else is a 404
// fault, and a known path with another method a 405 fault.
func (h *handler) routes() {
	h.mux.HandleFunc("/{$}", h.route(methods{http.MethodGet: h.versions}, 0))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.writeFault(r.Context(), w, infoOf(r), notFoundFault("No resource at "+r.URL.Path))
	})
	if h.cfg.status != nil {
		h.mux.HandleFunc(StatusPath, h.statusRoute(h.cfg.status))
	}
	for _, v := range []string{v10, v11} {
		h.mux.HandleFunc("/"+v+"/extensions", h.route(methods{http.MethodGet: h.listExtensions}, 0))
		h.mux.HandleFunc("/"+v+"/extensions/{alias}", h.route(methods{http.MethodGet: h.showExtension}, 0))

		t := "/" + v + "/tenants/{tenant}"
		h.mux.HandleFunc(t+"/networks", h.route(methods{
			http.MethodGet: h.listNetworks(false), http.MethodPost: h.createNetwork}, 0))
		h.mux.HandleFunc(t+"/networks/detail", h.route(methods{http.MethodGet: h.listNetworks(true)}, 0))
		h.mux.HandleFunc(t+"/networks/{net}", h.route(methods{
			http.MethodGet: h.showNetwork(false), http.MethodPut: h.renameNetwork, http.MethodDelete: h.deleteNetwork}, 0))
		h.mux.HandleFunc(t+"/networks/{net}/detail", h.route(methods{http.MethodGet: h.showNetwork(true)}, 0))

		h.mux.HandleFunc(t+"/networks/{net}/ports", h.route(methods{
			http.MethodGet: h.listPorts(false), http.MethodPost: h.createPort}, 0))
		h.mux.HandleFunc(t+"/networks/{net}/ports/detail", h.route(methods{http.MethodGet: h.listPorts(true)}, 0))
		h.mux.HandleFunc(t+"/networks/{net}/ports/{port}", h.route(methods{
			http.MethodGet: h.showPort(false), http.MethodPut: h.setPortState, http.MethodDelete: h.deletePort}, 0))
		h.mux.HandleFunc(t+"/networks/{net}/ports/{port}/detail", h.route(methods{http.MethodGet: h.showPort(true)}, 0))

		// GET ?wait= may block (the wait extension): its deadline is longer.
		h.mux.HandleFunc(t+"/networks/{net}/ports/{port}/attachment", h.route(methods{
			http.MethodGet: h.showAttachment, http.MethodPut: h.plug, http.MethodDelete: h.unplug}, h.cfg.maxWait))
		h.mux.HandleFunc(t+"/networks/{net}/attachments", h.route(methods{
			http.MethodGet: h.listAttachments, http.MethodPost: h.plugIntoNetwork}, 0))
	}
}

// route dispatches on the method, answering 405 with an Allow header for a
// method the path does not have. HEAD is served as GET.
func (h *handler) route(m methods, extra time.Duration) http.HandlerFunc {
	allow := allowHeader(slices.Collect(maps.Keys(m)))
	return func(w http.ResponseWriter, r *http.Request) {
		method := getForHead(r.Method)
		ep, ok := m[method]
		if !ok {
			h.methodNotAllowed(w, r, allow)
			return
		}
		// Every text outside the body, checked once before any endpoint:
		// a hostile path value or header never reaches the Quantum DB.
		if err := checkRequest(r); err != nil {
			h.writeFault(r.Context(), w, infoOf(r), h.faultFor(r.Context(), err))
			return
		}
		ext := time.Duration(0)
		if method == http.MethodGet && r.URL.Query().Has("wait") {
			ext = extra
		}
		h.serve(w, r, ep, ext)
	}
}

// statusRoute serves StatusPath: GET (and HEAD) only, outside the
// versioned API, so neither the request checks nor the deadline of an
// endpoint apply.
func (h *handler) statusRoute(status func() Status) http.HandlerFunc {
	allow := allowHeader([]string{http.MethodGet})
	return func(w http.ResponseWriter, r *http.Request) {
		if infoOf(r).suffixed {
			// The status is JSON only: /status.json names nothing.
			h.writeFault(r.Context(), w, infoOf(r), notFoundFault("No resource at "+r.URL.Path))
			return
		}
		if getForHead(r.Method) != http.MethodGet {
			h.methodNotAllowed(w, r, allow)
			return
		}
		serveStatus(w, status())
	}
}

func (h *handler) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	h.writeFault(r.Context(), w, infoOf(r), methodNotAllowedFault(r))
}

// allowHeader is the Allow header of a route with these methods: HEAD is
// allowed wherever GET is.
func allowHeader(meths []string) string {
	if slices.Contains(meths, http.MethodGet) {
		meths = append(meths, http.MethodHead)
	}
	slices.Sort(meths)
	return strings.Join(meths, ", ")
}

// getForHead is the method a request is served as: HEAD is GET (net/http
// drops the body).
func getForHead(method string) string {
	if method == http.MethodHead {
		return http.MethodGet
	}
	return method
}
