package testutil

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

func TestShortDirIsShortAndRemoved(t *testing.T) {
	var dir string
	t.Run("a subtest with a rather long name that would make t.TempDir deep", func(t *testing.T) {
		dir = ShortDir(t)
		if len(dir) > 60 {
			t.Errorf("ShortDir %q is %d bytes long", dir, len(dir))
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Fatalf("ShortDir %q: %v", dir, err)
		}
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("ShortDir %q left behind after its test: %v", dir, err)
	}
}

func TestPoll(t *testing.T) {
	n := 0
	if !Poll(time.Minute, time.Millisecond, func() bool { n++; return n == 3 }) || n != 3 {
		t.Errorf("Poll stopped after %d tries, want 3", n)
	}
	n = 0
	if Poll(0, time.Millisecond, func() bool { n++; return false }) {
		t.Error("Poll held for a condition that never holds")
	}
	if n != 1 {
		t.Errorf("a zero-length Poll tried %d times, want 1", n)
	}
}

func TestSyncBufferConcurrentWrites(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				fmt.Fprintf(&b, "%d", i)
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := len(b.String()); got != 400 {
		t.Errorf("SyncBuffer holds %d bytes, want 400", got)
	}
}
