package api

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// format is the one representation governing a request body and its
// response.
type format int

const (
	formatNone format = iota // not chosen yet (only during negotiation)
	formatJSON
	formatXML
)

// contentType is what a response in the format is labelled with.
func (f format) contentType() string {
	if f == formatXML {
		return "application/xml"
	}
	return "application/json"
}

// stripSuffix removes a .json or .xml suffix from the last segment of p and
// says which format it named. A segment that is nothing but the suffix is
// left alone: it names no resource to strip it from.
func stripSuffix(p string) (string, format) {
	last := p[strings.LastIndexByte(p, '/')+1:]
	switch {
	case len(last) > len(".json") && strings.HasSuffix(last, ".json"):
		return strings.TrimSuffix(p, ".json"), formatJSON
	case len(last) > len(".xml") && strings.HasSuffix(last, ".xml"):
		return strings.TrimSuffix(p, ".xml"), formatXML
	}
	return p, formatNone
}

// negotiate picks the format: the path suffix, else the request's
// Content-Type, else its Accept header, else JSON (as released).
func negotiate(r *http.Request, suffix format) format {
	if suffix != formatNone {
		return suffix
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil {
			if f := mediaFormat(mt); f != formatNone {
				return f
			}
		}
	}
	if f := acceptFormat(r.Header.Values("Accept")); f != formatNone {
		return f
	}
	return formatJSON
}

func mediaFormat(mt string) format {
	switch strings.ToLower(mt) {
	case "application/json":
		return formatJSON
	case "application/xml", "text/xml":
		return formatXML
	}
	return formatNone
}

// acceptFormat returns the format the Accept header prefers most (highest
// q; JSON on a tie), or formatNone when it names neither.
func acceptFormat(values []string) format {
	best, bestQ := formatNone, 0.0
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(item))
			if err != nil {
				continue
			}
			f := mediaFormat(mt)
			if f == formatNone {
				continue
			}
			q := 1.0
			if s, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(s, 64); err != nil {
					continue
				}
			}
			if q > bestQ || (q == bestQ && q > 0 && f == formatJSON) {
				best, bestQ = f, q
			}
		}
	}
	return best
}
