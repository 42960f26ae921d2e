package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

var update = flag.Bool("update", false, "write the generated files instead of comparing them")

// fixedRoot is the command tree with no QUANTUM_* from the environment, so
// generated text shows the built-in defaults.
func fixedRoot() *cobra.Command {
	a := &app{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	g := a.defaults()
	return a.rootCommand(&g, &invocation{})
}

// TestGeneratedFiles: the committed man page and completion scripts are
// what the commands generate (go generate ./cmd/quantumctl writes them).
func TestGeneratedFiles(t *testing.T) {
	for path, gen := range map[string]func(io.Writer) error{
		"../../docs/man/quantumctl.1":                func(w io.Writer) error { return writeManPage(w, fixedRoot()) },
		"../../packaging/quantumctl.bash-completion": func(w io.Writer) error { return writeCompletion(fixedRoot(), w, "bash") },
		"../../packaging/quantumctl.zsh-completion":  func(w io.Writer) error { return writeCompletion(fixedRoot(), w, "zsh") },
		"../../packaging/quantumctl.fish-completion": func(w io.Writer) error { return writeCompletion(fixedRoot(), w, "fish") },
	} {
		var b bytes.Buffer
		if err := gen(&b); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if *update {
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(old, b.Bytes()) {
			t.Errorf("%s is not what the commands generate (%v): run 'make man' (go generate ./cmd/quantumctl) and commit", path, err)
		}
	}
}

// TestManPage: quantumctl(1) describes every command and every option, and
// both man pages render without a groff warning.
func TestManPage(t *testing.T) {
	var b bytes.Buffer
	if err := writeManPage(&b, fixedRoot()); err != nil {
		t.Fatal(err)
	}
	page := strings.ReplaceAll(b.String(), `\-`, "-")
	for _, c := range commands() {
		if !strings.Contains(page, "\n.B "+c.name+"\n") && !strings.Contains(page, "\n.BI \""+c.name+" \"") {
			t.Errorf("the man page does not describe %s", c.name)
		}
	}
	for _, opt := range []string{`"--wait" " status"`, `"--wait-timeout" " duration"`, `"-q, --quiet"`, `"-o, --output" " format"`, `"--socket" " path"`, `.B "--version"`} {
		if !strings.Contains(page, opt) {
			t.Errorf("the man page lacks the option %s", opt)
		}
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("no groff to render the pages with")
	}
	for _, p := range []string{"../../docs/man/quantumctl.1", "../../docs/man/quantum-agent.8"} {
		out, err := exec.Command(groff, "-man", "-ww", "-z", p).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff -man -ww %s: %v\n%s", p, err, out)
		}
	}
}

// TestCompletionScripts runs the bash script in bash, with this test binary
// standing in for quantumctl (the script asks "quantumctl __complete").
func TestCompletionScripts(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(self, filepath.Join(dir, "quantumctl")); err != nil {
		t.Fatal(err)
	}
	var script bytes.Buffer
	if err := writeCompletion(fixedRoot(), &script, "bash"); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "qc.bash")
	if err := os.WriteFile(p, script.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) string {
		t.Helper()
		// _get_comp_words_by_ref is bash-completion's, which loads the
		// packaged script; a minimal one stands in for it here (and compopt
		// works only inside a real completion).
		prog := `compopt() { :; }
_get_comp_words_by_ref() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
source ` + p + "\nCOMP_WORDS=(" + strings.Join(quoteAll(words), " ") + ")\n" +
			"COMP_CWORD=" + itoa(len(words)-1) + "\nCOMP_TYPE=37\n__start_quantumctl\necho \"${COMPREPLY[*]}\"\n"
		cmd := exec.Command(bash, "-c", prog)
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "QUANTUMCTL_TEST_AS_MAIN=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, c := range []struct {
		words []string
		want  string
	}{
		{[]string{"quantumctl", "sta"}, "status"},
		{[]string{"quantumctl", "--tenant", "t1", "net-c"}, "net-create"},
		{[]string{"quantumctl", "--t"}, "--tenant --timeout"},
		{[]string{"quantumctl", "plug", "n", "p", "i", "--wait"}, "--wait --wait-timeout"},
		{[]string{"quantumctl", "plug", "n", "p", "i", "--wait", ""}, "UP DOWN PROVISIONING FAILED"},
		{[]string{"quantumctl", "port-create", "n", "--state", ""}, "ACTIVE DOWN"},
		{[]string{"quantumctl", "port-update", "n", "p", ""}, "ACTIVE DOWN"},
		{[]string{"quantumctl", "-o", ""}, "table json"},
		{[]string{"quantumctl", "completion", ""}, "bash zsh fish"},
		{[]string{"quantumctl", "help", "net-l"}, "net-list"},
	} {
		if got := complete(c.words...); got != c.want {
			t.Errorf("complete %q: %q, want %q", c.words, got, c.want)
		}
	}
	for _, shell := range completionShells {
		if code, out, errs := runCtl(t, nil, "completion", shell); code != 0 || !strings.Contains(out, "quantumctl") {
			t.Errorf("completion %s: exit %d, %q", shell, code, errs)
		}
	}
	if code, _, _ := runCtl(t, nil, "completion", "tcsh"); code != exitUsage {
		t.Errorf("completion tcsh: exit %d, want %d", code, exitUsage)
	}
}

func quoteAll(ws []string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = "'" + w + "'"
	}
	return out
}
