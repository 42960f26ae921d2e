package main

import (
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestManPageListsEveryFlag: quantum-agent(8)'s OPTIONS describe exactly
// the flags the agent declares.
func TestManPageListsEveryFlag(t *testing.T) {
	raw, err := os.ReadFile("../../docs/man/quantum-agent.8")
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	start := strings.Index(page, "\n.SH OPTIONS\n")
	if start < 0 {
		t.Fatal("quantum-agent.8 has no OPTIONS section")
	}
	section := page[start+1:]
	if end := strings.Index(section[1:], "\n.SH "); end >= 0 {
		section = section[:end+1]
	}
	var inPage []string
	for _, m := range regexp.MustCompile(`(?m)^\.TP\n\.BI? \\-\\-([a-z\\-]+)`).FindAllStringSubmatch(section, -1) {
		inPage = append(inPage, strings.ReplaceAll(m[1], `\-`, "-"))
	}
	fs := flag.NewFlagSet("quantum-agent", flag.ContinueOnError)
	declareFlags(fs, &config{}, &flagText{})
	var declared []string
	fs.VisitAll(func(f *flag.Flag) { declared = append(declared, f.Name) })
	for _, name := range declared {
		if !slices.Contains(inPage, name) {
			t.Errorf("quantum-agent(8) OPTIONS lacks --%s", name)
		}
	}
	for _, name := range inPage {
		if !slices.Contains(declared, name) {
			t.Errorf("quantum-agent(8) OPTIONS describes --%s, which the agent does not have", name)
		}
	}
}

// TestHelpShowsLongFlagsAndOctalMode: -h writes --flag as the man page
// does, and the socket mode in octal.
func TestHelpShowsLongFlagsAndOctalMode(t *testing.T) {
	var out strings.Builder
	if _, err := parseConfig([]string{"-h"}, &out); err != flag.ErrHelp {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"\n  --socket-mode mode\n", "(default 0660)", "\n  --config file\n", "\n  --version\n", "\n  --resync-interval duration\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-h lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "432") {
		t.Errorf("-h shows the socket mode in decimal:\n%s", out.String())
	}
}

// TestSocketModeValues: octal text, TOML integers (decimal text) and bad
// modes, whose errors say what is expected.
func TestSocketModeValues(t *testing.T) {
	for in, want := range map[string]uint{"0660": 0o660, "0o640": 0o640, "416": 0o640, "0": 0} {
		c, err := parseConfig([]string{"--host", "h", "--socket-mode", in}, &strings.Builder{})
		if err != nil || c.SocketMode != want {
			t.Errorf("--socket-mode %s: %v, %o; want %o", in, err, c.SocketMode, want)
		}
	}
	for _, in := range []string{"660", "0999", "rw"} {
		_, err := parseConfig([]string{"--host", "h", "--socket-mode", in}, &strings.Builder{})
		if err == nil || !strings.Contains(err.Error(), `"`+in+`"`) || !strings.Contains(err.Error(), "want an octal file mode like 0660") {
			t.Errorf("--socket-mode %s: %v", in, err)
		}
	}
	_, err := parseConfig([]string{"--host", "h", "--request-timeout", "5"}, &strings.Builder{})
	if want := `invalid value "5" for flag --request-timeout: want a duration like 30s`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("--request-timeout 5: %v, want %q", err, want)
	}
	_, err = parseConfig([]string{"--bogus"}, &strings.Builder{})
	if want := "flag provided but not defined: --bogus (quantum-agent -h lists the options)"; err == nil || err.Error() != want {
		t.Errorf("--bogus: %v, want %q", err, want)
	}
}
