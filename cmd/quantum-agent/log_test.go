package main

import (
	"bytes"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// TestJournalLines checks what journald reads: each line starts with its
// syslog priority and has no timestamp; levels below the threshold are
// dropped and the threshold can change while running.
func TestJournalLines(t *testing.T) {
	var buf bytes.Buffer
	level := &slog.LevelVar{}
	log := newLogger(&buf, level, true).With("component", "test")
	log.Debug("hidden")
	log.Info("one", "k", "v")
	log.Warn("two")
	log.Error("three", "err", "boom")
	level.Set(slog.LevelDebug)
	log.WithGroup("g").Debug("four", "x", 1)
	want := []string{
		`<6>level=INFO msg=one component=test k=v`,
		`<4>level=WARN msg=two component=test`,
		`<3>level=ERROR msg=three component=test err=boom`,
		`<7>level=DEBUG msg=four component=test g.x=1`,
	}
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), strings.Join(want, "\n"))
	}
}

// TestJournalLinesConcurrent checks that every line of concurrent loggers
// gets its own, right prefix (run with -race).
func TestJournalLinesConcurrent(t *testing.T) {
	var buf testutil.SyncBuffer
	log := newLogger(&buf, slog.LevelDebug, true)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if i%2 == 0 {
					log.Warn("w")
				} else {
					log.Debug("d")
				}
			}
		}()
	}
	wg.Wait()
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line != "<4>level=WARN msg=w" && line != "<7>level=DEBUG msg=d" {
			t.Fatalf("bad line %q", line)
		}
	}
}

// TestPlainLines checks that outside journald lines carry a time and no
// priority prefix.
func TestPlainLines(t *testing.T) {
	var buf bytes.Buffer
	newLogger(&buf, slog.LevelInfo, false).Info("hello")
	if s := buf.String(); !strings.HasPrefix(s, "time=") || !strings.Contains(s, "level=INFO msg=hello") {
		t.Errorf("plain line %q", s)
	}
}

// TestUnderJournal checks JOURNAL_STREAM is believed only for the stream it
// names.
func TestUnderJournal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stream")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	mine := strconv.FormatUint(uint64(st.Dev), 10) + ":" + strconv.FormatUint(uint64(st.Ino), 10)
	env := func(v string) func(string) string { return func(string) string { return v } }
	for _, c := range []struct {
		env  string
		w    any
		want bool
	}{
		{"", f, false},
		{mine, f, true},
		{"1:2", f, false}, // inherited from a parent whose stderr went to the journal
		{"1:2", &bytes.Buffer{}, true},
	} {
		var got bool
		switch w := c.w.(type) {
		case *os.File:
			got = underJournal(env(c.env), w)
		case *bytes.Buffer:
			got = underJournal(env(c.env), w)
		}
		if got != c.want {
			t.Errorf("JOURNAL_STREAM=%q on %T: %v, want %v", c.env, c.w, got, c.want)
		}
	}
}
