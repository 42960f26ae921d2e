package scripts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// The format of a tested document (docs/api.md says it to readers too):
//
//   - a fenced block tagged `sh` is a command: it is run, in order, by one
//     bash session per document (variables, functions and aliases carry over
//     from block to block), and must exit 0;
//   - a block tagged `json`, `xml` or `text` right after it (nothing but blank
//     lines between) is its answer: the command's output (stdout and stderr)
//     must be that, JSON compared as values, XML with the whitespace between
//     tags ignored, text line by line; a last line `→ 204` is the HTTP status
//     the api helper prints;
//   - a block preceded by the line `<!-- not run: why -->` is not run;
//   - ids: a table row "| `$NAME` | `<uuid>` | ..." says that the uuid, in
//     answers, stands for the id the variable holds. The first answer where it
//     appears sets $NAME (for later commands) from what the agent answered;
//     later answers must show that same id. Other uuids match any uuid.
//
// Placeholders in commands: /tmp/qsandbox.XXXXXX is the sandbox's run
// directory, qsandbox- the prefix of its namespace names (SANDBOX_NAME).

// docBlock is one fenced block of a document.
type docBlock struct {
	line   int    // where its fence opens, 1-based
	lang   string // the fence's tag
	text   string
	notRun string // why, from a <!-- not run: ... --> line before it
}

// docExample is a command and, if the document shows one, its answer.
type docExample struct {
	cmd    docBlock
	answer *docBlock
}

var notRunRE = regexp.MustCompile(`^<!-- not run: (.*) -->$`)

// parseBlocks returns the fenced blocks of a Markdown document.
func parseBlocks(r io.Reader) ([]docBlock, error) {
	var blocks []docBlock
	var cur *docBlock
	var body strings.Builder
	prev := "" // last non-blank line outside blocks
	blankSince := true
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		fence := strings.HasPrefix(line, "```")
		switch {
		case cur == nil && fence:
			cur = &docBlock{line: n, lang: strings.TrimSpace(strings.TrimPrefix(line, "```"))}
			if m := notRunRE.FindStringSubmatch(prev); m != nil && !blankSince {
				cur.notRun = m[1]
			}
			body.Reset()
		case cur != nil && fence && strings.TrimSpace(line) == "```":
			cur.text = body.String()
			blocks = append(blocks, *cur)
			cur = nil
			prev, blankSince = "```", false
		case cur != nil:
			body.WriteString(line)
			body.WriteByte('\n')
		case strings.TrimSpace(line) == "":
			blankSince = true
		default:
			prev, blankSince = line, false
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: block never closed", cur.line)
	}
	return blocks, sc.Err()
}

// examples pairs each runnable sh block with the answer block right after it
// (its fence at most one blank line below the command's closing fence).
func examples(blocks []docBlock) []docExample {
	var out []docExample
	for i := 0; i < len(blocks); i++ {
		b := blocks[i]
		if b.lang != "sh" || b.notRun != "" {
			continue
		}
		ex := docExample{cmd: b}
		if i+1 < len(blocks) && isAnswer(blocks[i+1].lang) && blocks[i+1].notRun == "" &&
			blocks[i+1].line <= b.line+strings.Count(b.text, "\n")+3 {
			ex.answer = &blocks[i+1]
			i++
		}
		out = append(out, ex)
	}
	return out
}

func isAnswer(lang string) bool { return lang == "json" || lang == "xml" || lang == "text" }

var (
	uuidRE   = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	statusRE = regexp.MustCompile(`(?m)^→ [0-9]{3}$`)
	idRowRE  = regexp.MustCompile("^\\| `\\$([A-Z][A-Z0-9_]*)` \\| `(" + uuidRE.String() + ")` \\|")
)

// idTable reads the "| `$NAME` | `<uuid>` |" rows of a document: uuid → NAME.
func idTable(doc string) map[string]string {
	ids := map[string]string{}
	for _, line := range strings.Split(doc, "\n") {
		if m := idRowRE.FindStringSubmatch(line); m != nil {
			ids[m[2]] = m[1]
		}
	}
	return ids
}

// canonical puts an answer in a form where equal answers are equal strings:
// the text is cut at the status lines; each part is made canonical by kind.
func canonical(kind, s string) (string, error) {
	var out []string
	rest := s
	for {
		loc := statusRE.FindStringIndex(rest)
		part := rest
		if loc != nil {
			part = rest[:loc[0]]
		}
		c, err := canonicalPart(kind, part)
		if err != nil {
			return "", err
		}
		if c != "" {
			out = append(out, c)
		}
		if loc == nil {
			break
		}
		out = append(out, rest[loc[0]:loc[1]])
		rest = rest[loc[1]:]
	}
	return strings.Join(out, "\n"), nil
}

var (
	betweenTagsRE = regexp.MustCompile(`>\s+<`)
	spacesRE      = regexp.MustCompile(`\s+`)
)

func canonicalPart(kind, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	switch kind {
	case "json":
		var vals []string
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		for dec.More() {
			var v any
			if err := dec.Decode(&v); err != nil {
				return "", fmt.Errorf("not JSON: %w in %q", err, s)
			}
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(v); err != nil {
				return "", err
			}
			vals = append(vals, strings.TrimSpace(b.String()))
		}
		return strings.Join(vals, "\n"), nil
	case "xml":
		return spacesRE.ReplaceAllString(betweenTagsRE.ReplaceAllString(s, "><"), " "), nil
	default:
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			lines[i] = strings.TrimRight(l, " \t")
		}
		return strings.Join(lines, "\n"), nil
	}
}

// matchAnswer compares what a command printed (got) with the documented
// answer (want, both canonical). ids maps sample uuids to variable names and
// vars holds the variables bound so far; it returns the new bindings.
func matchAnswer(want, got string, ids, vars map[string]string) (map[string]string, bool) {
	var pat strings.Builder
	var groups []string // variable name per capture group
	last := 0
	pat.WriteString(`^`)
	for _, loc := range uuidRE.FindAllStringIndex(want, -1) {
		pat.WriteString(regexp.QuoteMeta(want[last:loc[0]]))
		sample := want[loc[0]:loc[1]]
		name, isVar := ids[sample]
		switch {
		case isVar && vars[name] != "":
			pat.WriteString(regexp.QuoteMeta(vars[name]))
		case isVar:
			pat.WriteString("(" + uuidRE.String() + ")")
			groups = append(groups, name)
		default:
			pat.WriteString(uuidRE.String())
		}
		last = loc[1]
	}
	pat.WriteString(regexp.QuoteMeta(want[last:]))
	pat.WriteString(`$`)
	m := regexp.MustCompile(pat.String()).FindStringSubmatch(got)
	if m == nil {
		return nil, false
	}
	bound := map[string]string{}
	for i, name := range groups {
		if prev, ok := bound[name]; ok && prev != m[i+1] {
			return nil, false
		}
		bound[name] = m[i+1]
	}
	return bound, true
}
