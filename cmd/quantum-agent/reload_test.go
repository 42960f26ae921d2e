package main

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// TestReload checks SIGHUP's work: the log level changes live, other
// changed keys are named as waiting for a restart, and a broken file
// changes nothing.
func TestReload(t *testing.T) {
	p := writeConf(t, "log_level = \"info\"\nintegration_bridge = \"br-one\"\n")
	args := []string{"--config", p, "--host", "h", "--socket", "/run/q/flag.sock"}
	cfg, err := parseConfig(args, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	d, err := newDaemon(cfg, args, &out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("log_level = \"debug\"\nintegration_bridge = \"br-two\"\nsocket = \"/ignored\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.reload()
	if d.level.Level() != slog.LevelDebug {
		t.Errorf("log level %v after reload, want debug", d.level.Level())
	}
	log := out.String()
	for _, w := range []string{
		`msg="SIGHUP: setting applied" key=log_level old=info new=debug`,
		`msg="SIGHUP: setting changed; it takes effect at the next restart" key=integration_bridge running=br-one file=br-two`,
		`changed=2`,
	} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	if strings.Contains(log, "key=socket") {
		t.Errorf("the --socket flag overrides the file; no change to report:\n%s", log)
	}

	out.Reset()
	if err := os.WriteFile(p, []byte("log_level = \"loud\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.reload()
	if d.level.Level() != slog.LevelDebug || !strings.Contains(out.String(), "configuration refused") || !strings.Contains(out.String(), "log_level") {
		t.Errorf("bad file: level %v, log:\n%s", d.level.Level(), out.String())
	}
}
