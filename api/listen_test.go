package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

func TestListen(t *testing.T) {
	t.Run("creates dir, applies mode, removes on close", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "run", "q.sock")
		ln, err := Listen(path, 0o660, "")
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
			t.Errorf("mode %v, want socket 0660", fi.Mode())
		}
		if left, _ := filepath.Glob(path + ".*"); len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
		dialOK(t, path)
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket not removed on close: %v", err)
		}
	})

	t.Run("stale socket replaced", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "q.sock")
		old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		old.SetUnlinkOnClose(false)
		old.Close() // the file stays, nobody answers: a dead agent's socket
		ln, err := Listen(path, 0o600, "")
		if err != nil {
			t.Fatalf("stale socket not replaced: %v", err)
		}
		defer ln.Close()
		dialOK(t, path)
	})

	t.Run("live socket refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "q.sock")
		live, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer live.Close()
		_, err = Listen(path, 0o600, "")
		if err == nil || !strings.Contains(err.Error(), "live process") {
			t.Fatalf("err = %v, want a live-process refusal", err)
		}
		dialOK(t, path) // and the live one is untouched
	})

	t.Run("not a socket refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "q.sock")
		if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Listen(path, 0o600, ""); err == nil {
			t.Fatal("a regular file was replaced")
		}
		if b, _ := os.ReadFile(path); string(b) != "keep" {
			t.Error("the regular file was changed")
		}
	})

	t.Run("group", func(t *testing.T) {
		g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
		if err != nil {
			t.Skipf("own group has no name: %v", err)
		}
		path := filepath.Join(t.TempDir(), "q.sock")
		ln, err := Listen(path, 0o660, g.Name)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		fi, _ := os.Stat(path)
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && strconv.Itoa(int(st.Gid)) != g.Gid {
			t.Errorf("gid %d, want %s", st.Gid, g.Gid)
		}
		if _, err := Listen(filepath.Join(t.TempDir(), "x.sock"), 0o660, "no-such-group-quantum"); err == nil {
			t.Error("unknown group accepted")
		}
	})
}

func dialOK(t *testing.T, path string) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	c.Close()
}

// TestServerAccessLog serves on a real socket and checks the access log
// line, peer credentials included.
func TestServerAccessLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.sock")
	ln, err := Listen(path, 0o600, "")
	if err != nil {
		t.Fatal(err)
	}
	var logs testutil.SyncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	srv := NewServer(NewHandler(newBackend(t), log), log)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()

	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}
	resp, err := client.Get("http://quantum/v1.0/tenants/t/networks.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	eq(t, "status", resp.StatusCode, 200)
	client.CloseIdleConnections()
	if err := srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}

	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no access log line in %s", logs.String())
	}
	eq(t, "method", line["method"], any("GET"))
	eq(t, "path", line["path"], any("/v1.0/tenants/t/networks.json"))
	eq(t, "status", line["status"], any(float64(200)))
	eq(t, "uid", line["uid"], any(float64(os.Getuid())))
	eq(t, "gid", line["gid"], any(float64(os.Getgid())))
	eq(t, "pid", line["pid"], any(float64(os.Getpid())))
	if _, ok := line["duration"]; !ok {
		t.Error("no duration")
	}
}
