package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/api"
	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// failingService is an agent.Service whose every call fails with err: the
// real API handler in front of it produces the real fault for err's kind.
type failingService struct{ err error }

var _ agent.Service = failingService{}

func (s failingService) ListNetworks(context.Context, string, bool) ([]agent.Network, error) {
	return nil, s.err
}
func (s failingService) GetNetwork(context.Context, string, string, bool) (agent.Network, error) {
	return agent.Network{}, s.err
}
func (s failingService) CreateNetwork(context.Context, string, agent.NetworkSpec) (agent.Network, error) {
	return agent.Network{}, s.err
}
func (s failingService) RenameNetwork(context.Context, string, string, string) error { return s.err }
func (s failingService) DeleteNetwork(context.Context, string, string) error         { return s.err }
func (s failingService) ListPorts(context.Context, string, string) ([]agent.Port, error) {
	return nil, s.err
}
func (s failingService) GetPort(context.Context, string, string, string) (agent.Port, error) {
	return agent.Port{}, s.err
}
func (s failingService) CreatePort(context.Context, string, string, string) (agent.Port, error) {
	return agent.Port{}, s.err
}
func (s failingService) SetPortState(context.Context, string, string, string, string) error {
	return s.err
}
func (s failingService) DeletePort(context.Context, string, string, string) error { return s.err }
func (s failingService) GetAttachment(context.Context, string, string, string) (*agent.Attachment, error) {
	return nil, s.err
}
func (s failingService) Plug(context.Context, string, string, string, agent.AttachmentSpec) error {
	return s.err
}
func (s failingService) Unplug(context.Context, string, string, string) error { return s.err }
func (s failingService) ListAttachments(context.Context, string, string) ([]agent.Attachment, error) {
	return nil, s.err
}
func (s failingService) PlugIntoNetwork(context.Context, string, string, agent.AttachmentSpec) (agent.Port, error) {
	return agent.Port{}, s.err
}
func (s failingService) WaitAttachment(context.Context, string, string, string, string) (*agent.Attachment, error) {
	return nil, s.err
}

// contract is what each agent error kind must look like to a client: the
// client's kind and the status code of each version (docs/api.md, Faults).
var contract = map[agent.Kind]struct {
	kind     client.FaultKind
	v10, v11 int
}{
	agent.KindInternal:            {client.ErrInternal, 500, 500},
	agent.KindMalformed:           {client.ErrMalformed, 400, 400},
	agent.KindNetworkNotFound:     {client.ErrNetworkNotFound, 420, 404},
	agent.KindNetworkInUse:        {client.ErrNetworkInUse, 421, 409},
	agent.KindPortNotFound:        {client.ErrPortNotFound, 430, 404},
	agent.KindStateInvalid:        {client.ErrStateInvalid, 431, 400},
	agent.KindPortInUse:           {client.ErrPortInUse, 432, 409},
	agent.KindAlreadyAttached:     {client.ErrAlreadyAttached, 440, 409},
	agent.KindOverLimit:           {client.ErrOverLimit, 413, 413},
	agent.KindUnavailable:         {client.ErrUnavailable, 470, 503},
	agent.KindPluginFault:         {client.ErrPluginFault, 471, 500},
	agent.KindUnauthorized:        {client.ErrUnauthorized, 401, 401},
	agent.KindConflict:            {client.ErrConflict, 409, 409},
	agent.KindIdempotencyMismatch: {client.ErrIdempotencyKeyReused, 422, 422},
}

// wireRecorder is a transport that asks for a format (the client itself
// speaks JSON) and records the status line each answer came with.
type wireRecorder struct {
	next   http.RoundTripper
	accept string
	mu     sync.Mutex
	status string
}

func (w *wireRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", w.accept)
	resp, err := w.next.RoundTrip(r)
	if err == nil {
		w.mu.Lock()
		w.status = resp.Status
		w.mu.Unlock()
	}
	return resp, err
}

func (w *wireRecorder) lastStatus() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// serveAgent serves the real API handler on svc through the real server
// on a Unix socket.
func serveAgent(t *testing.T, svc agent.Service) string {
	t.Helper()
	path := filepath.Join(testutil.ShortDir(t), "q.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	srv := api.NewServer(api.NewHandler(svc, log), log)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return path
}

// TestFaultContract: every agent error kind, served by the real handler in
// both versions and both formats, comes back to the real client as the
// same kind, with its status code, its detail and (v1.0's own codes) its
// name on the status line.
func TestFaultContract(t *testing.T) {
	for _, k := range agent.AllKinds() {
		want, ok := contract[k]
		if !ok {
			t.Errorf("agent kind %d has no entry in the fault contract: add it (and a client kind)", k)
			continue
		}
		detail := fmt.Sprintf("kind %d went wrong on <net & port>", k)
		socket := serveAgent(t, failingService{err: &agent.Error{Kind: k, Detail: detail}})
		if k == agent.KindInternal {
			detail = "See the agent's log for the cause." // the cause is not the client's to see
		}
		for _, ver := range []client.APIVersion{client.V10, client.V11} {
			for _, accept := range []string{"application/json", "application/xml"} {
				t.Run(fmt.Sprintf("%s/%s/%s", want.kind, ver, accept), func(t *testing.T) {
					wire := &wireRecorder{next: unixHTTPClient(socket).Transport, accept: accept}
					c := client.New(socket, client.WithAPIVersion(ver), client.WithRetry(client.RetryPolicy{Attempts: 1}),
						client.WithHTTPClient(&http.Client{Transport: wire}))
					checkContract(t, c.DeleteNetwork(context.Background(), "t", "n1"), ver, want.kind, want.v10, want.v11, detail, wire.lastStatus())
				})
			}
		}
	}
}

func checkContract(t *testing.T, err error, ver client.APIVersion, kind client.FaultKind, v10, v11 int, detail, status string) {
	t.Helper()
	var f *client.Fault
	if !errors.As(err, &f) {
		t.Fatalf("err = %T %v, want *client.Fault", err, err)
	}
	code := v11
	if ver == client.V10 {
		code = v10
	}
	if f.HTTPStatus != code {
		t.Errorf("status %d, want %d", f.HTTPStatus, code)
	}
	if f.Kind() != kind {
		t.Errorf("Kind() = %q, want %q (fault %+v)", f.Kind(), kind, f)
	}
	for _, other := range allKinds {
		if errors.Is(err, other) != (other == kind) {
			t.Errorf("errors.Is(err, %s) = %v", other, other != kind)
		}
	}
	if f.Detail != detail {
		t.Errorf("detail %q, want %q", f.Detail, detail)
	}
	reason := http.StatusText(code)
	if ver == client.V10 && v10 != v11 {
		reason = f.Type // Quantum's own code: its name is the reason phrase
	}
	if want := fmt.Sprintf("%d %s", code, reason); status != want {
		t.Errorf("status line %q, want %q", status, want)
	}
	if strings.TrimSpace(f.Message) == "" {
		t.Error("no message")
	}
}
