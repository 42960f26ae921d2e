package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/quantum-agent/quantum-agent/agent"
)

// fault is one error response, with its names in both versions. The
// message is fixed per fault (the released wording where there is one);
// the detail names the ids involved.
type fault struct {
	v10Code int    // v1.0 status code, also shown in the body
	v10Name string // v1.0 top-level key
	v11Code int    // v1.1 status code
	v11Type string // v1.1 "type"
	message string
	detail  string
}

// faultOf is THE table from agent error kinds to faults (docs/api.md "Faults").
func faultOf(k agent.Kind) fault {
	switch k {
	case agent.KindMalformed:
		return fault{400, "malformedRequest", 400, "MalformedRequest",
			"The server could not comply with the request since it is either malformed or otherwise incorrect.", ""}
	case agent.KindUnauthorized:
		return fault{401, "unauthorized", 401, "Unauthorized",
			"This server could not verify that you are authorized to access the resource you requested.", ""}
	case agent.KindNetworkNotFound:
		return fault{420, "networkNotFound", 404, "NetworkNotFound",
			"Unable to find a network with the specified identifier.", ""}
	case agent.KindNetworkInUse:
		return fault{421, "networkInUse", 409, "NetworkInUse",
			"Unable to remove the network: attachments still plugged.", ""}
	case agent.KindPortNotFound:
		return fault{430, "portNotFound", 404, "PortNotFound",
			"Unable to find a port with the specified identifier.", ""}
	case agent.KindStateInvalid:
		return fault{431, "requestedStateInvalid", 400, "RequestedStateInvalid",
			"Unable to update port state with specified value.", ""}
	case agent.KindPortInUse:
		return fault{432, "portInUse", 409, "PortInUse",
			"A resource is currently attached to the logical port", ""}
	case agent.KindAlreadyAttached:
		return fault{440, "alreadyAttached", 409, "AlreadyAttached",
			"The resource is already attached to another port", ""}
	case agent.KindOverLimit:
		return fault{413, "overLimit", 413, "OverLimit",
			"The request exceeds a limit of the service.", ""}
	case agent.KindUnavailable:
		return fault{470, "serviceUnavailable", 503, "ServiceUnavailable",
			"The service is unavailable at this time.", ""}
	case agent.KindPluginFault:
		return fault{471, "pluginFault", 500, "PluginFault",
			"The plugin failed to carry out the operation.", ""}
	case agent.KindConflict:
		// Not in the released API (an extension's fault: a provider segment
		// already taken). 409 on both versions, as HTTP means it.
		return fault{409, "conflict", 409, "Conflict",
			"The request conflicts with the current state of another resource.", ""}
	case agent.KindIdempotencyMismatch:
		// Not in the released API: the Idempotency-Key extension (IETF
		// httpapi draft: a key reused with another request is 422).
		return fault{422, "idempotencyKeyReused", 422, "IdempotencyKeyReused",
			"The Idempotency-Key was already used for a different request.", ""}
	}
	return internalFault()
}

// internalFault hides the cause of an unexpected error from the client
// (it goes to the log): it may say things only the operator should see.
func internalFault() fault {
	return fault{500, "quantumServiceFault", 500, "QuantumServiceFault",
		"An unexpected error occurred.", "See the agent's log for the cause."}
}

func notFoundFault(detail string) fault {
	return fault{404, "notFound", 404, "NotFound", "The resource could not be found.", detail}
}

func methodNotAllowedFault(r *http.Request) fault {
	return fault{405, "methodNotAllowed", 405, "MethodNotAllowed",
		"The method is not allowed for this resource.", "Method " + r.Method + " is not allowed on " + r.URL.Path}
}

// faultFor maps a backend (or request-decoding) error to its fault and
// logs what the client will not see.
func (h *handler) faultFor(ctx context.Context, err error) fault {
	var ae *agent.Error
	var mbe *http.MaxBytesError
	var noExt errNoExtension
	switch {
	case errors.As(err, &noExt):
		return notFoundFault(noExt.Error())
	case errors.As(err, &mbe):
		f := faultOf(agent.KindOverLimit)
		f.detail = "request body larger than 1 MiB"
		return f
	case errors.As(err, &ae):
		f := faultOf(ae.Kind)
		if f.v11Code >= 500 || ae.Kind == agent.KindInternal {
			h.log.ErrorContext(ctx, "request failed", "kind", int(ae.Kind), "err", err)
		}
		if ae.Kind != agent.KindInternal {
			f.detail = agent.DetailOf(err)
		}
		return f
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		h.log.WarnContext(ctx, "backend did not answer in time", "err", err)
		f := faultOf(agent.KindUnavailable)
		f.detail = "The agent did not answer in time."
		return f
	}
	h.log.ErrorContext(ctx, "request failed", "err", err)
	return internalFault()
}

// The fault bodies of each version.
type faultV10 struct {
	Code    int    `json:"code" xml:"code,attr"`
	Message string `json:"message" xml:"message"`
	Detail  string `json:"detail" xml:"detail"`
}

type faultV11 struct {
	Type    string `json:"type" xml:"type"`
	Message string `json:"message" xml:"message"`
	Detail  string `json:"detail" xml:"detail"`
}

// writeFault writes f in the request's version and format. Outside /v1.x
// there is no version to follow: the v1.0 shape, plain JSON.
func (h *handler) writeFault(ctx context.Context, w http.ResponseWriter, info reqInfo, f fault) {
	if info.version == v11 {
		h.writeDoc(ctx, w, info, f.v11Code, document{key: "QuantumError",
			value: faultV11{Type: f.v11Type, Message: f.message, Detail: f.detail}})
		return
	}
	if info.version == "" {
		info.format = formatJSON
	}
	h.writeDoc(ctx, w, info, f.v10Code, document{key: f.v10Name,
		value: faultV10{Code: f.v10Code, Message: f.message, Detail: f.detail}})
}
