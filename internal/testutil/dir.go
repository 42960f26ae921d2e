package testutil

import (
	"os"
	"testing"
)

// ShortDir returns a fresh directory under os.TempDir, removed when the test
// ends. Unix socket paths are limited to 108 bytes (sun_path), which
// t.TempDir() exceeds for a long (sub)test name: sockets go here.
func ShortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "qa-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
