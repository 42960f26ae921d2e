package api

import (
	"context"
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
// ("" outside /v1.x) and the format of its body and response.
type reqInfo struct {
	version string
	format  format
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
	info := reqInfo{version: versionOf(p), format: negotiate(r, suffix)}
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
	allow := make([]string, 0, len(m)+1)
	for meth := range m {
		allow = append(allow, meth)
	}
	if _, ok := m[http.MethodGet]; ok {
		allow = append(allow, http.MethodHead)
	}
	slices.Sort(allow)
	allowHeader := strings.Join(allow, ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		ep, ok := m[method]
		if !ok {
			w.Header().Set("Allow", allowHeader)
			h.writeFault(r.Context(), w, infoOf(r), methodNotAllowedFault(r))
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
