package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
)

// Example is what a compute driver does for one VIF (docs/api.md, "A compute
// driver's sequence"): a network, an ACTIVE port, a plug naming the VM's tap,
// a wait until it is wired; then unplug and delete.
func Example() {
	socket, stop := startExampleAgent() // on a hypervisor: client.DefaultSocket
	defer stop()
	ctx := context.Background()
	c := client.New(socket)

	network, err := c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "net1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	port, err := c.CreatePort(ctx, "demo", network, client.StateActive)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The plug is durable when it returns; the wiring follows.
	if err := c.Plug(ctx, "demo", network, port, client.PlugRequest{ID: "vif-vm1", Device: "tapvm1"}); err != nil {
		fmt.Println(err)
		return
	}
	att, err := c.WaitAttachment(ctx, "demo", network, port, client.StatusUp, 30*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(att.ID, att.Status)

	// The VM is gone: unplug (a no-op when nothing is plugged), then delete.
	fmt.Println(c.Unplug(ctx, "demo", network, port), c.DeletePort(ctx, "demo", network, port),
		c.DeleteNetwork(ctx, "demo", network))
	// Output:
	// vif-vm1 UP
	// <nil> <nil> <nil>
}

// A wait that runs out is not an error: the attachment comes back as it is
// then, with the reason it is not UP.
func ExampleClient_WaitAttachment() {
	socket, stop := startExampleAgent()
	defer stop()
	ctx := context.Background()
	c := client.New(socket)
	network, _ := c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "net1"})
	port, _ := c.CreatePort(ctx, "demo", network, client.StateActive)
	_ = c.Plug(ctx, "demo", network, port, client.PlugRequest{ID: "vif-vm9", Device: "tapvm9"})

	att, err := c.WaitAttachment(ctx, "demo", network, port, client.StatusUp, time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	if att.Status != client.StatusUp {
		fmt.Printf("%s is %s: %s\n", att.ID, att.Status, att.Reason)
	}
	// Output:
	// vif-vm9 is DOWN: device tapvm9 does not exist
}

// Faults are errors of type *client.Fault; errors.Is matches their kind on
// either API version.
func ExampleFault() {
	socket, stop := startExampleAgent()
	defer stop()
	c := client.New(socket)

	_, err := c.CreatePort(context.Background(), "demo", "8a6f0e2c-4b1d-4f3a-9c7e-2d5b8e1f3a60", client.StateActive)
	var f *client.Fault
	if errors.Is(err, client.ErrNetworkNotFound) && errors.As(err, &f) {
		fmt.Println(f.HTTPStatus, f.Type)
		fmt.Println(f.Detail)
	}
	// Output:
	// 404 NetworkNotFound
	// Network 8a6f0e2c-4b1d-4f3a-9c7e-2d5b8e1f3a60 could not be found
}

// A create that must not happen twice (the caller retries a whole step after
// a crash, say) carries the caller's Idempotency-Key: the repeat answers the
// first network's id.
func ExampleContextWithIdempotencyKey() {
	socket, stop := startExampleAgent()
	defer stop()
	c := client.New(socket)
	ctx := client.ContextWithIdempotencyKey(context.Background(), "spawn-vm-42-net")

	first, _ := c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "net1"})
	again, _ := c.CreateNetwork(ctx, "demo", client.NetworkRequest{Name: "net1"})
	fmt.Println(first == again)
	// Output:
	// true
}

// exampleAgent stands in for quantum-agent in the examples: just enough of
// the v1.1 JSON API, in memory, on a Unix socket. Its only devices are
// tapvm1..tapvm3: an attachment on one of them is UP, any other is DOWN.
// (The client's tests run it against the real API handler: contract_test.go.)
type exampleAgent struct {
	mu    sync.Mutex
	n     int
	nets  map[string]map[string]*client.Attachment // network → port → attachment (nil: none)
	keyed map[string]string                        // Idempotency-Key → network id
}

func startExampleAgent() (socket string, stop func()) {
	dir, err := os.MkdirTemp("", "qa-example-")
	if err != nil {
		panic(err)
	}
	socket = filepath.Join(dir, "quantum.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		panic(err)
	}
	a := &exampleAgent{nets: map[string]map[string]*client.Attachment{}, keyed: map[string]string{}}
	srv := &http.Server{Handler: a.routes()}
	go func() { _ = srv.Serve(ln) }()
	return socket, func() { srv.Close(); os.RemoveAll(dir) }
}

func (a *exampleAgent) routes() http.Handler {
	const t = "/v1.1/tenants/{tenant}/networks"
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+t, a.createNetwork)
	mux.HandleFunc("DELETE "+t+"/{net}", a.withNetwork(func(w http.ResponseWriter, r *http.Request, _ map[string]*client.Attachment) {
		delete(a.nets, r.PathValue("net"))
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST "+t+"/{net}/ports", a.withNetwork(func(w http.ResponseWriter, _ *http.Request, ports map[string]*client.Attachment) {
		id := a.newID()
		ports[id] = nil
		reply(w, http.StatusAccepted, map[string]any{"port": map[string]string{"id": id}})
	}))
	mux.HandleFunc("DELETE "+t+"/{net}/ports/{port}", a.withNetwork(func(w http.ResponseWriter, r *http.Request, ports map[string]*client.Attachment) {
		delete(ports, r.PathValue("port"))
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("PUT "+t+"/{net}/ports/{port}/attachment", a.withNetwork(a.plug))
	mux.HandleFunc("DELETE "+t+"/{net}/ports/{port}/attachment", a.withNetwork(func(w http.ResponseWriter, r *http.Request, ports map[string]*client.Attachment) {
		ports[r.PathValue("port")] = nil
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("GET "+t+"/{net}/ports/{port}/attachment", a.withNetwork(func(w http.ResponseWriter, r *http.Request, ports map[string]*client.Attachment) {
		att := ports[r.PathValue("port")]
		if att == nil {
			att = &client.Attachment{}
		}
		reply(w, http.StatusOK, map[string]any{"attachment": att})
	}))
	return mux
}

func (a *exampleAgent) newID() string {
	a.n++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", a.n)
}

func (a *exampleAgent) createNetwork(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := r.Header.Get("Idempotency-Key")
	id, seen := a.keyed[key]
	if !seen {
		id = a.newID()
		a.nets[id] = map[string]*client.Attachment{}
		a.keyed[key] = id
	}
	reply(w, http.StatusAccepted, map[string]any{"network": map[string]string{"id": id}})
}

// withNetwork runs h with the network's ports, under the lock, or answers
// the agent's NetworkNotFound.
func (a *exampleAgent) withNetwork(h func(http.ResponseWriter, *http.Request, map[string]*client.Attachment)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		ports, ok := a.nets[r.PathValue("net")]
		if !ok {
			reply(w, http.StatusNotFound, map[string]any{"QuantumError": map[string]string{
				"type": "NetworkNotFound", "message": "Unable to find a network with the specified identifier.",
				"detail": "Network " + r.PathValue("net") + " could not be found"}})
			return
		}
		h(w, r, ports)
	}
}

func (a *exampleAgent) plug(w http.ResponseWriter, r *http.Request, ports map[string]*client.Attachment) {
	var body struct {
		Attachment client.Attachment `json:"attachment"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	att := body.Attachment
	switch att.Device {
	case "tapvm1", "tapvm2", "tapvm3":
		att.Status = client.StatusUp
	default:
		att.Status, att.Reason = client.StatusDown, "device "+att.Device+" does not exist"
	}
	ports[r.PathValue("port")] = &att
	w.WriteHeader(http.StatusNoContent)
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
