package scripts

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// TestDocs runs every example of the user-facing documents, in order, in a
// fresh `make run` sandbox each (scripts/sandbox.sh: a real agent, a real
// Quantum DB ovsdb-server, userspace OVS, the taps tapvm1..3 of three VM
// namespaces) and compares what it prints with the documented answer. The
// format is described in doctest_test.go and, for readers, in docs/api.md.
func TestDocs(t *testing.T) {
	testbed.RequireRoot(t)
	for _, doc := range []string{"README.md", "docs/api.md", "docs/lifecycle.md", "docs/datapaths.md"} {
		t.Run(doc, func(t *testing.T) { runDoc(t, doc) })
	}
}

func runDoc(t *testing.T, doc string) {
	root := testbed.ModuleRoot(t)
	text, err := os.ReadFile(filepath.Join(root, doc))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseBlocks(strings.NewReader(string(text)))
	if err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	exs := examples(blocks)
	if len(exs) == 0 {
		t.Fatalf("%s has no example to run", doc)
	}
	s := newSandbox(t)
	s.args = sandboxArgs(string(text))
	s.start(t)
	sess := newDocSession(t, s, root)
	ids := idTable(string(text))
	for _, ex := range exs {
		where := doc + ":" + strconv.Itoa(ex.cmd.line)
		out, err := sess.run(ex.cmd.text, ex.answer == nil)
		if err != nil {
			t.Errorf("%s: the command failed (%v):\n%s\noutput:\n%s", where, err, ex.cmd.text, out)
			continue
		}
		if ex.answer == nil {
			continue
		}
		want, err := canonical(ex.answer.lang, ex.answer.text)
		if err != nil {
			t.Errorf("%s: the documented answer: %v\nthe command printed:\n%s", where, err, out)
			continue
		}
		got, err := canonical(ex.answer.lang, out)
		if err != nil {
			t.Errorf("%s: %v\ncommand:\n%s", where, err, ex.cmd.text)
			continue
		}
		bound, ok := matchAnswer(want, got, ids, sess.vars)
		if !ok {
			t.Errorf("%s: the answer differs from the document\ncommand:\n%s\ndocument:\n%s\nagent:\n%s",
				where, ex.cmd.text, want, got)
			continue
		}
		for k, v := range bound {
			sess.vars[k] = v
		}
	}
}

var sandboxRE = regexp.MustCompile(`(?m)^<!-- sandbox: (.*) -->$`)

// sandboxArgs reads a document's "<!-- sandbox: FLAGS -->" line: the agent
// flags its examples need (scripts/sandbox.sh -- FLAGS).
func sandboxArgs(doc string) []string {
	if m := sandboxRE.FindStringSubmatch(doc); m != nil {
		return strings.Fields(m[1])
	}
	return nil
}

// docSession is one bash session over the blocks of a document: each block
// runs in its own bash, which first loads what the blocks before it left
// (variables, functions, aliases) and saves it again on exit.
type docSession struct {
	t     *testing.T
	dir   string // the working directory: bin/ and scripts/ as in a checkout
	state string
	subst *strings.Replacer
	vars  map[string]string // ids bound from answers
}

func newDocSession(t *testing.T, s *sandbox, root string) *docSession {
	dir := testutil.ShortDir(t)
	for name, target := range map[string]string{"bin": bins, "scripts": filepath.Join(root, "scripts")} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// curl reads $CURL_HOME/.curlrc: in "fail" it is told to exit non-zero on
	// an HTTP error (printing the fault body), for commands whose answer the
	// document does not show; "plain" is empty (no ~/.curlrc of the machine).
	for _, sub := range []string{"fail", "plain"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "fail", ".curlrc"), []byte("fail-with-body\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &docSession{
		t: t, dir: dir, state: filepath.Join(dir, ".session"),
		subst: strings.NewReplacer("/tmp/qsandbox.XXXXXX", s.runDir(), "qsandbox-", s.name+"-"),
		vars:  map[string]string{},
	}
}

// saveState writes the session's variables (except bash's own), functions
// and aliases where the next block loads them from.
const saveState = `__save() {
	{
		for __v in $(compgen -v); do
			case $__v in BASH*|SHELLOPTS|BASHOPTS|PPID|UID|EUID|GROUPS|FUNCNAME|PIPESTATUS|_|SHLVL|RANDOM|SRANDOM|SECONDS|LINENO|HISTCMD|EPOCH*|DIRSTACK|COMP*|OPTERR|OPTIND|IFS|PWD|OLDPWD|CURL_HOME|__*) continue ;; esac
			declare -p "$__v" 2>/dev/null
		done
		declare -f | grep -v '^declare -fr'
		alias
	} >"$__STATE" 2>/dev/null
}
trap __save EXIT
`

// run runs one block; failHTTP makes curl fail on an HTTP error status.
func (d *docSession) run(block string, failHTTP bool) (string, error) {
	var pre strings.Builder
	pre.WriteString("shopt -s expand_aliases\n")
	pre.WriteString("[ -r \"$__STATE\" ] && . \"$__STATE\"\n")
	for k, v := range d.vars {
		pre.WriteString(k + "=" + v + "\n")
	}
	pre.WriteString(saveState)
	pre.WriteString("set -eo pipefail\n")
	script := pre.String() + d.subst.Replace(block)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = d.dir
	curlHome := filepath.Join(d.dir, "plain")
	if failHTTP {
		curlHome = filepath.Join(d.dir, "fail")
	}
	cmd.Env = append(os.Environ(), "__STATE="+d.state, "CURL_HOME="+curlHome)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
