package client

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// FaultKind names a kind of fault independently of the API version: v1.0's
// "networkNotFound" (420) and v1.1's "NetworkNotFound" (404) are both
// ErrNetworkNotFound. The sentinels are constants so nothing can reassign
// them, and they are what errors.Is compares a *Fault against.
type FaultKind string

func (k FaultKind) Error() string { return "quantum: " + string(k) }

// The kinds of fault quantum-agent reports (docs/api.md, Faults). Their values are
// the v1.1 type names.
const (
	ErrMalformed        FaultKind = "MalformedRequest"
	ErrUnauthorized     FaultKind = "Unauthorized"
	ErrNetworkNotFound  FaultKind = "NetworkNotFound"
	ErrNetworkInUse     FaultKind = "NetworkInUse"
	ErrPortNotFound     FaultKind = "PortNotFound"
	ErrStateInvalid     FaultKind = "RequestedStateInvalid"
	ErrPortInUse        FaultKind = "PortInUse"
	ErrAlreadyAttached  FaultKind = "AlreadyAttached"
	ErrOverLimit        FaultKind = "OverLimit"
	ErrUnavailable      FaultKind = "ServiceUnavailable"
	ErrPluginFault      FaultKind = "PluginFault"
	ErrNotFound         FaultKind = "NotFound" // unknown route
	ErrMethodNotAllowed FaultKind = "MethodNotAllowed"
	// ErrConflict: the request clashes with another object, e.g. a
	// provider segment another network uses (409 on both versions).
	ErrConflict FaultKind = "Conflict"
	// ErrIdempotencyKeyReused: the Idempotency-Key was already used for a
	// different request (422 on both versions).
	ErrIdempotencyKeyReused FaultKind = "IdempotencyKeyReused"
	// ErrInternal: the agent failed unexpectedly; the cause is in its log
	// (500 quantumServiceFault / QuantumServiceFault).
	ErrInternal FaultKind = "QuantumServiceFault"
)

// kindByName recognises a fault by its name or type; v1.0 names are the
// lower-camel forms of the same words, so names are compared case-folded.
func kindByName(name string) (FaultKind, bool) {
	switch strings.ToLower(name) {
	case "malformedrequest", "badrequest":
		return ErrMalformed, true
	case "unauthorized":
		return ErrUnauthorized, true
	case "networknotfound":
		return ErrNetworkNotFound, true
	case "networkinuse":
		return ErrNetworkInUse, true
	case "portnotfound":
		return ErrPortNotFound, true
	case "requestedstateinvalid":
		return ErrStateInvalid, true
	case "portinuse":
		return ErrPortInUse, true
	case "alreadyattached":
		return ErrAlreadyAttached, true
	case "overlimit":
		return ErrOverLimit, true
	case "serviceunavailable":
		return ErrUnavailable, true
	case "pluginfault":
		return ErrPluginFault, true
	case "notfound", "itemnotfound":
		return ErrNotFound, true
	case "methodnotallowed":
		return ErrMethodNotAllowed, true
	case "conflict":
		return ErrConflict, true
	case "idempotencykeyreused":
		return ErrIdempotencyKeyReused, true
	case "quantumservicefault":
		return ErrInternal, true
	}
	return "", false
}

// kindByStatus is the fallback when a body names nothing we know (a proxy's
// HTML page, an unparsable body): v1.0's codes are unique per kind, v1.1's
// are the nearest kind.
func kindByStatus(status int) FaultKind {
	switch status {
	case 400:
		return ErrMalformed
	case 401:
		return ErrUnauthorized
	case 404:
		return ErrNotFound
	case 405:
		return ErrMethodNotAllowed
	case 409:
		return ErrConflict // v1.1's in-use faults are 409 too, but name themselves
	case 422:
		return ErrIdempotencyKeyReused
	case 413:
		return ErrOverLimit
	case 420:
		return ErrNetworkNotFound
	case 421:
		return ErrNetworkInUse
	case 430:
		return ErrPortNotFound
	case 431:
		return ErrStateInvalid
	case 432:
		return ErrPortInUse
	case 440:
		return ErrAlreadyAttached
	case 470, 503:
		return ErrUnavailable
	case 471, 500:
		return ErrPluginFault
	}
	return ""
}

// Fault is an error response from the agent.
type Fault struct {
	HTTPStatus int
	// Type is the fault's name as sent: the v1.1 type ("NetworkNotFound") or
	// the v1.0 name ("networkNotFound"); empty if the body named none.
	Type string
	// Message is the fixed message of the kind, Detail the agent's account
	// naming the ids involved.
	Message string
	Detail  string
}

// Kind reports the version-independent kind, or "" for a status the API does
// not define.
func (f *Fault) Kind() FaultKind {
	if k, ok := kindByName(f.Type); ok {
		return k
	}
	return kindByStatus(f.HTTPStatus)
}

// Is makes errors.Is(err, client.ErrNetworkNotFound) work for faults of
// either version.
func (f *Fault) Is(target error) bool {
	k, ok := target.(FaultKind)
	return ok && k != "" && f.Kind() == k
}

func (f *Fault) Error() string {
	name := f.Type
	if name == "" {
		name = http.StatusText(f.HTTPStatus)
	}
	text := f.Detail
	if text == "" {
		text = f.Message
	}
	if text == "" {
		return fmt.Sprintf("%s (HTTP %d)", name, f.HTTPStatus)
	}
	return fmt.Sprintf("%s (HTTP %d): %s", name, f.HTTPStatus, text)
}

// maxFaultBody caps what we read of an error body: faults are a few hundred
// bytes, anything longer is not one.
const maxFaultBody = 64 << 10

// decodeFault reads a non-2xx response. It accepts both versions' JSON and
// XML bodies; whatever it cannot parse still gives a Fault with the status.
func decodeFault(resp *http.Response) *Fault {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxFaultBody))
	f := &Fault{HTTPStatus: resp.StatusCode}
	ct := resp.Header.Get("Content-Type")
	ok := false
	if strings.Contains(ct, "xml") {
		ok = decodeXMLFault(body, f)
	} else {
		ok = decodeJSONFault(body, f)
	}
	if !ok {
		f.Message = http.StatusText(resp.StatusCode)
		f.Detail = strings.TrimSpace(string(body))
		if len(f.Detail) > 200 {
			f.Detail = f.Detail[:200] + "..."
		}
	}
	return f
}

// faultFields is the inside of both versions' JSON fault objects:
// {"networkNotFound":{"code":420,...}} and {"QuantumError":{"type":...}}.
type faultFields struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Detail  string `json:"detail"`
}

func decodeJSONFault(body []byte, f *Fault) bool {
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(body, &outer); err != nil || len(outer) != 1 {
		return false
	}
	for name, raw := range outer {
		var in faultFields
		if err := json.Unmarshal(raw, &in); err != nil {
			return false
		}
		f.Type = name
		if name == "QuantumError" {
			f.Type = in.Type
		}
		f.Message, f.Detail = in.Message, in.Detail
	}
	return true
}

// xmlFault covers <networkNotFound code="420"><message/><detail/></...> and
// <QuantumError><type/><message/><detail/></QuantumError>.
type xmlFault struct {
	XMLName xml.Name
	Type    string `xml:"type"`
	Message string `xml:"message"`
	Detail  string `xml:"detail"`
}

func decodeXMLFault(body []byte, f *Fault) bool {
	var x xmlFault
	if err := xml.Unmarshal(body, &x); err != nil {
		return false
	}
	f.Type = x.XMLName.Local
	if f.Type == "QuantumError" {
		f.Type = x.Type
	}
	f.Message, f.Detail = x.Message, x.Detail
	return true
}

// UnreachableError means no agent answered at the socket: it is not running,
// not listening there, or the caller may not open the socket.
type UnreachableError struct {
	Target string // socket path or base URL
	Err    error
}

func (e *UnreachableError) Error() string {
	if errors.Is(e.Err, os.ErrPermission) {
		return fmt.Sprintf("cannot reach quantum-agent at %s: permission denied on the socket (run as a user allowed to use it)", e.Target)
	}
	return fmt.Sprintf("cannot reach quantum-agent at %s: is it running? (%s)", e.Target, rootCause(e.Err))
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// rootCause strips "dial unix /path: connect:" so the path is not said twice.
func rootCause(err error) string {
	var sys *os.SyscallError
	if errors.As(err, &sys) {
		return sys.Err.Error()
	}
	return err.Error()
}
