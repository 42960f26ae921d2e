package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// quantumctl(1) is generated from the command tree, so every command and
// every flag is in it and it cannot drift: `go generate` writes
// docs/man/quantumctl.1 and TestGeneratedFiles fails when the committed
// page differs. The prose around the lists is in manprose.go.
//
// cobra's own generator (cobra/doc) was not used: it writes one page per
// command through a Markdown converter (go-md2man), where quantumctl(1) is
// one page with sections of its own (RETRIES, EXIT STATUS) that packaging
// and operators expect.

// writeManPage writes quantumctl(1) in man(7) macros.
func writeManPage(w io.Writer, root *cobra.Command) error {
	var b strings.Builder
	b.WriteString(manHead)
	b.WriteString(".SH GLOBAL OPTIONS\nThey may come before or after the command.\n")
	manFlags(&b, root.PersistentFlags())
	b.WriteString(manVersion)
	b.WriteString(".SH COMMANDS\n")
	notes := commandNotes()
	group := ""
	for _, c := range listed(root) {
		if g := commandGroup(c.Name()); c.Name() != "help" && g != group {
			group = g
			fmt.Fprintf(&b, ".SS %s\n", group)
		}
		b.WriteString(".TP\n")
		name, args, _ := strings.Cut(c.Use, " ")
		if args == "" {
			fmt.Fprintf(&b, ".B %s\n", roff(name))
		} else {
			fmt.Fprintf(&b, ".BI %s %s\n", quoted(roff(name)+" "), quoted(roff(args)))
		}
		fmt.Fprintf(&b, "%s.\n", roffLine(c.Short))
		if n := notes[c.Name()]; n != "" {
			b.WriteString(n)
		}
		own := c.LocalNonPersistentFlags()
		own.SortFlags = false
		if own.HasAvailableFlags() && c.Name() != "help" {
			b.WriteString(".RS\n")
			manFlags(&b, own)
			b.WriteString(".RE\n")
		}
	}
	b.WriteString(manTail)
	_, err := io.WriteString(w, b.String())
	return err
}

// manFlags writes a tagged paragraph per flag: its spellings, the value it
// takes, what it does and its default.
func manFlags(b *strings.Builder, fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" {
			return
		}
		b.WriteString(".TP\n")
		tag := `\-\-` + roff(f.Name)
		if f.Shorthand != "" {
			tag = `\-` + f.Shorthand + ", " + tag
		}
		value, usage := pflag.UnquoteUsage(f)
		if f.Value.Type() == "bool" {
			value = ""
		}
		if value == "" {
			fmt.Fprintf(b, ".B %s\n", quoted(tag))
		} else {
			fmt.Fprintf(b, ".BI %s %s\n", quoted(tag), quoted(" "+roff(value)))
		}
		text := usage
		if !zeroDefault(f) {
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(b, "%s.\n", roffLine(capitalized(text)))
	})
}

func zeroDefault(f *pflag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "[]":
		return true
	}
	return false
}

func capitalized(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// roff escapes text for a macro argument or a text line: backslashes, and
// every hyphen as a minus sign, so options and names copy-paste as typed.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	s = strings.ReplaceAll(s, "—", `\(em`)
	return strings.ReplaceAll(s, `"`, `\(dq`)
}

// roffLine is roff for a whole text line, which must not start with a
// control character.
func roffLine(s string) string {
	s = roff(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func quoted(s string) string { return `"` + s + `"` }
