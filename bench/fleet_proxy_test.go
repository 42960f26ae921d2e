package bench

import (
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// countingProxy stands between one agent and its OVSDB remotes: a unix
// socket per remote that forwards to it and counts the bytes the server
// sends the agent. That is exactly what the agent receives from the
// Quantum DB (update notifications, replies, echo requests), not its
// netlink or file reads.
type countingProxy struct {
	received  atomic.Int64 // bytes server -> agent, over every connection
	listeners []net.Listener
	mu        sync.Mutex
	conns     []net.Conn
	wg        sync.WaitGroup
}

// newCountingProxy listens on one socket in dir per upstream endpoint
// ("unix:PATH") and returns the proxy and the endpoints the agent is to
// use instead, comma-separated in the same order; t.Cleanup closes it.
func newCountingProxy(t testing.TB, dir string, upstreams []string) (*countingProxy, string) {
	t.Helper()
	p := &countingProxy{}
	t.Cleanup(p.Close)
	var eps []string
	for i, up := range upstreams {
		target, ok := strings.CutPrefix(up, "unix:")
		if !ok {
			t.Fatalf("counting proxy: upstream %q is not unix:", up)
		}
		path := filepath.Join(dir, "px"+string(rune('a'+i))+".sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		p.listeners = append(p.listeners, ln)
		eps = append(eps, "unix:"+path)
		p.wg.Add(1)
		go p.serve(ln, target)
	}
	return p, strings.Join(eps, ",")
}

func (p *countingProxy) serve(ln net.Listener, target string) {
	defer p.wg.Done()
	for {
		client, err := ln.Accept()
		if err != nil {
			return // closed
		}
		server, err := net.Dial("unix", target)
		if err != nil {
			client.Close() // the agent sees the remote down, as it would
			continue
		}
		if !p.track(client, server) {
			return
		}
		p.wg.Add(2)
		go p.pipe(client, server, &p.received) // server -> agent: counted
		go p.pipe(server, client, nil)
	}
}

// track remembers a connection pair for Close; false once closed.
func (p *countingProxy) track(a, b net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.listeners == nil {
		a.Close()
		b.Close()
		return false
	}
	p.conns = append(p.conns, a, b)
	return true
}

// pipe copies from src to dst, adding what it copies to count, and closes
// both when either side ends.
func (p *countingProxy) pipe(dst, src net.Conn, count *atomic.Int64) {
	defer p.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if count != nil {
				count.Add(int64(n))
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil { // EOF, a reset or Close: either side went away
			dst.Close()
			src.Close()
			return
		}
	}
}

// Received is the bytes the agent has received so far.
func (p *countingProxy) Received() int64 { return p.received.Load() }

// Close stops listening, cuts every connection and waits for the copiers.
func (p *countingProxy) Close() {
	p.mu.Lock()
	lns, conns := p.listeners, p.conns
	p.listeners, p.conns = nil, nil
	p.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, c := range conns {
		c.Close()
	}
	p.wg.Wait()
}
