package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// newLogger logs one structured line (logfmt) per event. Under journald the
// timestamp is left to the journal and each line starts with its syslog
// priority, "<6>", which journald's stream reader turns into the entry's
// PRIORITY (SyslogLevelPrefix=yes is its default): `journalctl -p warning`
// then shows warnings and errors only.
func newLogger(w io.Writer, level slog.Leveler, journal bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if !journal {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	out := &priorityWriter{w: w}
	return slog.New(&journalHandler{Handler: slog.NewTextHandler(out, opts), out: out})
}

// underJournal tells whether stderr is the journal: JOURNAL_STREAM names
// the device and inode of the stream systemd connected, and is inherited by
// children whose stderr went elsewhere, so both must match (sd-daemon(3)).
// A w that is not a file (tests) is taken at JOURNAL_STREAM's word.
func underJournal(getenv func(string) string, w io.Writer) bool {
	js := getenv("JOURNAL_STREAM")
	if js == "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return true
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return js == strconv.FormatUint(uint64(st.Dev), 10)+":"+strconv.FormatUint(uint64(st.Ino), 10)
}

// syslogPriority maps a slog level to a syslog priority: error 3, warning
// 4, info 6, debug 7 (notice, 5, has no slog level).
func syslogPriority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3
	case l >= slog.LevelWarn:
		return 4
	case l >= slog.LevelInfo:
		return 6
	}
	return 7
}

// journalHandler sets the priority of the line its inner handler is about
// to write. The inner TextHandler writes each record with one Write, under
// the lock held here, so the prefix always lands on its own record.
type journalHandler struct {
	slog.Handler
	out *priorityWriter
}

func (h *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	h.out.prio = syslogPriority(r.Level)
	return h.Handler.Handle(ctx, r)
}

func (h *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &journalHandler{Handler: h.Handler.WithAttrs(as), out: h.out}
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	return &journalHandler{Handler: h.Handler.WithGroup(name), out: h.out}
}

// priorityWriter prefixes each line written with "<prio>", in one Write
// so that lines of concurrent loggers sharing stderr do not interleave.
type priorityWriter struct {
	mu   sync.Mutex // held by journalHandler.Handle around each record
	w    io.Writer
	prio int
	buf  []byte
}

func (p *priorityWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf[:0], '<')
	p.buf = strconv.AppendInt(p.buf, int64(p.prio), 10)
	p.buf = append(p.buf, '>')
	p.buf = append(p.buf, b...)
	if _, err := p.w.Write(p.buf); err != nil {
		return 0, err
	}
	return len(b), nil
}
