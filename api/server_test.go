package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// serveAPI serves h through NewServer on a fresh Unix socket and returns
// the socket's path; the server is closed when the test ends.
func serveAPI(t *testing.T, h http.Handler, opts ...ServerOption) string {
	t.Helper()
	path := filepath.Join(testutil.ShortDir(t), "q.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(h, slog.New(slog.NewTextHandler(t.Output(), nil)), opts...)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return path
}

// rawConn is a client that writes bytes as the test says, with no
// net/http in between, and reads answers off the same connection.
type rawConn struct {
	t *testing.T
	net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, path string) *rawConn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A safety net against a hung test, not an assertion on time.
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	return &rawConn{t: t, Conn: c, br: bufio.NewReader(c)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// response reads one answer; its body is read whole.
func (c *rawConn) response(method string) (*http.Response, []byte) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read response body: %v", err)
	}
	return resp, body
}

// statusLine reads the next raw status line, as it is on the wire.
func (c *rawConn) statusLine() string {
	c.t.Helper()
	line, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read status line: %v", err)
	}
	return line
}

// closedByServer reads until the server closes the connection and reports
// whether it did (rather than the safety deadline firing).
func (c *rawConn) closedByServer() bool {
	_, err := io.Copy(io.Discard, c.br)
	var ne net.Error
	return err == nil || !(errors.As(err, &ne) && ne.Timeout())
}

func checkOverLimit(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	eq(t, "status", resp.StatusCode, http.StatusRequestEntityTooLarge)
	var f struct{ QuantumError faultV11 }
	if err := json.Unmarshal(body, &f); err != nil {
		t.Fatalf("413 body %q: %v", body, err)
	}
	eq(t, "type", f.QuantumError.Type, "OverLimit")
	eq(t, "detail", f.QuantumError.Detail, "request body larger than 1 MiB")
}

// TestOversizedBodyAnswered: a client that writes its whole 2 MiB body
// before reading still reads the 413 (no reset connection), whether the
// size was declared or the body chunked.
func TestOversizedBodyAnswered(t *testing.T) {
	path := serveAPI(t, testHandler(t, newBackend(t)))
	big := bytes.Repeat([]byte("x"), 2<<20)
	const head = "POST /v1.1/tenants/t/networks HTTP/1.1\r\nHost: q\r\nContent-Type: application/json\r\n"

	t.Run("Content-Length", func(t *testing.T) {
		c := dialRaw(t, path)
		c.send(head + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(big)))
		if _, err := c.Write(big); err != nil {
			t.Fatalf("writing the body: %v (the server cut the connection)", err)
		}
		resp, body := c.response("POST")
		checkOverLimit(t, resp, body)
	})
	t.Run("chunked", func(t *testing.T) {
		c := dialRaw(t, path)
		c.send(head + "Transfer-Encoding: chunked\r\n\r\n")
		for off := 0; off < len(big); off += 64 << 10 {
			c.send(fmt.Sprintf("%x\r\n", 64<<10))
			if _, err := c.Write(big[off : off+64<<10]); err != nil {
				t.Fatalf("writing the body: %v (the server cut the connection)", err)
			}
			c.send("\r\n")
		}
		c.send("0\r\n\r\n")
		resp, body := c.response("POST")
		checkOverLimit(t, resp, body)
	})
	t.Run("Expect 100-continue", func(t *testing.T) {
		// Refused on the declared length alone: no 100 Continue, no body
		// needed, the answer comes at once.
		c := dialRaw(t, path)
		c.send(head + fmt.Sprintf("Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(big)))
		resp, body := c.response("POST")
		checkOverLimit(t, resp, body)
		if !c.closedByServer() {
			t.Error("connection left open after refusing the body")
		}
	})
}

// TestSlowClientCut: a client sending its body (or its headers) a byte at a
// time is cut off by the read timeout instead of holding a handler.
func TestSlowClientCut(t *testing.T) {
	path := serveAPI(t, testHandler(t, newBackend(t)),
		WithReadTimeout(300*time.Millisecond), WithReadHeaderTimeout(200*time.Millisecond))
	trickle := func(c *rawConn, s string) {
		for i := 0; i < len(s); i++ {
			if _, err := c.Write([]byte{s[i]}); err != nil {
				return // cut off: what we want
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Run("body", func(t *testing.T) {
		c := dialRaw(t, path)
		body := `{"network":{"name":"` + strings.Repeat("n", 200) + `"}}`
		c.send(fmt.Sprintf("POST /v1.1/tenants/t/networks HTTP/1.1\r\nHost: q\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)))
		go trickle(c, body)
		if !c.closedByServer() {
			t.Fatal("a body trickling in held the connection open")
		}
	})
	t.Run("headers", func(t *testing.T) {
		c := dialRaw(t, path)
		go trickle(c, "GET /v1.1/tenants/t/networks HTTP/1.1\r\nHost: q\r\nX-Slow: "+strings.Repeat("s", 200)+"\r\n\r\n")
		if !c.closedByServer() {
			t.Fatal("headers trickling in held the connection open")
		}
	})
}

// TestReadTimeoutSparesWaits: the read timeout bounds reading the request,
// not answering it; a wait longer than it sees the status it waits for.
func TestReadTimeoutSparesWaits(t *testing.T) {
	b := newBackend(t)
	setter := b.(interface{ SetAttachmentStatus(id, status string) })
	ctx := t.Context()
	n, _ := b.CreateNetwork(ctx, "t", agent.NetworkSpec{Name: "n"})
	p, _ := b.CreatePort(ctx, "t", n.ID, agent.PortActive)
	if err := b.Plug(ctx, "t", n.ID, p.ID, agent.AttachmentSpec{ID: "vif-w"}); err != nil {
		t.Fatal(err)
	}
	const readTimeout = 100 * time.Millisecond
	path := serveAPI(t, testHandler(t, b), WithReadTimeout(readTimeout))
	c := dialRaw(t, path)
	// UP comes several read timeouts after the request was read: a wait
	// cut by the read deadline would answer PROVISIONING.
	time.AfterFunc(5*readTimeout, func() { setter.SetAttachmentStatus("vif-w", agent.StatusUp) })
	c.send("GET /v1.1/tenants/t/networks/" + n.ID + "/ports/" + p.ID + "/attachment?wait=UP&timeout=30 HTTP/1.1\r\nHost: q\r\n\r\n")
	resp, body := c.response("GET")
	eq(t, "status", resp.StatusCode, http.StatusOK)
	if !strings.Contains(string(body), `"status":"UP"`) {
		t.Errorf("the wait ended before UP: %s", body)
	}
	// A request with a body, answered after its read deadline has passed.
	time.Sleep(2 * readTimeout)
	c.send("PUT /v1.1/tenants/t/networks/" + n.ID + " HTTP/1.1\r\nHost: q\r\nContent-Type: application/json\r\nContent-Length: 26\r\n\r\n" + `{"network":{"name":"m"}}  `)
	resp, _ = c.response("PUT")
	eq(t, "next request on the connection", resp.StatusCode, http.StatusNoContent)
}

// TestReasonPhrases: v1.0's own codes carry Quantum's names on the status
// line, answer after answer on one connection; standard codes keep the
// standard phrases, and net/http's own 431 keeps Go's.
func TestReasonPhrases(t *testing.T) {
	w := newWorld(t)
	path := serveAPI(t, testHandler(t, w.b))
	c := dialRaw(t, path)
	get := func(target string) string {
		c.send("GET " + target + " HTTP/1.1\r\nHost: q\r\n\r\n")
		line := c.statusLine()
		resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(strings.NewReader(line), c.br)), &http.Request{Method: "GET"})
		if err != nil {
			t.Fatalf("read response: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return strings.TrimRight(line, "\r\n")
	}
	eq(t, "v1.0 network not found", get("/v1.0/tenants/t/networks/nope"), "HTTP/1.1 420 networkNotFound")
	eq(t, "then a success", get("/v1.0/tenants/t/networks"), "HTTP/1.1 200 OK")
	eq(t, "v1.0 port not found", get("/v1.0/tenants/t/networks/"+w.net+"/ports/nope"), "HTTP/1.1 430 portNotFound")
	eq(t, "v1.1 keeps the standard phrase", get("/v1.1/tenants/t/networks/nope"), "HTTP/1.1 404 Not Found")

	c.send("DELETE /v1.0/tenants/t/networks/" + w.net + " HTTP/1.1\r\nHost: q\r\n\r\n")
	eq(t, "v1.0 network in use", c.statusLine(), "HTTP/1.1 421 networkInUse\r\n")

	big := dialRaw(t, path)
	big.send("GET /v1.0/tenants/t/networks HTTP/1.1\r\nHost: q\r\nX-Big: " + strings.Repeat("b", 32<<10) + "\r\n\r\n")
	eq(t, "net/http's own 431", big.statusLine(), "HTTP/1.1 431 Request Header Fields Too Large\r\n")
}

// TestQuantumReasons: exactly the codes v1.1 replaced get a name.
func TestQuantumReasons(t *testing.T) {
	want := map[int]string{420: "networkNotFound", 421: "networkInUse", 430: "portNotFound",
		431: "requestedStateInvalid", 432: "portInUse", 440: "alreadyAttached",
		470: "serviceUnavailable", 471: "pluginFault"}
	got := quantumReasons()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("quantumReasons() = %v, want %v", got, want)
	}
}

// TestReasonConnPassesThrough: only the exact announced line is rewritten,
// once.
func TestReasonConnPassesThrough(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	rc := &reasonConn{Conn: a}
	read := func(n int) string {
		buf := make([]byte, n)
		_, _ = io.ReadFull(b, buf)
		return string(buf)
	}
	write := func(s string) {
		go func() {
			n, err := rc.Write([]byte(s))
			if err != nil || n != len(s) {
				t.Errorf("Write(%q) = %d, %v", s, n, err)
			}
		}()
	}
	rc.expect(goStatusLine("HTTP/1.1", 440), statusLine("HTTP/1.1", 440, "alreadyAttached"))
	write("HTTP/1.1 440 status code 440\r\nA: b\r\n\r\n")
	eq(t, "rewritten", read(len("HTTP/1.1 440 alreadyAttached\r\nA: b\r\n\r\n")), "HTTP/1.1 440 alreadyAttached\r\nA: b\r\n\r\n")
	write("HTTP/1.1 440 status code 440\r\n")
	eq(t, "not armed any more", read(len("HTTP/1.1 440 status code 440\r\n")), "HTTP/1.1 440 status code 440\r\n")
	rc.expect(goStatusLine("HTTP/1.1", 421), statusLine("HTTP/1.1", 421, "networkInUse"))
	write("body bytes HTTP/1.1 421 Misdirected Request\r\n")
	eq(t, "not at the start", read(len("body bytes HTTP/1.1 421 Misdirected Request\r\n")), "body bytes HTTP/1.1 421 Misdirected Request\r\n")
}
