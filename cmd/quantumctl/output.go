package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/quantum-agent/quantum-agent/api/client"
)

// session is what a command needs: the client, the tenant it acts for, and
// where its output goes.
type session struct {
	c      *client.Client
	tenant string
	out    output
}

// output prints either aligned tables for people or, with -o json, the
// API's own JSON shapes ({"networks":[...]}, {"port":{...}}) for scripts.
type output struct {
	w    io.Writer
	json bool
}

// emit prints v as JSON, or calls table with an aligned writer.
func (o output) emit(v any, table func(w io.Writer)) error {
	if o.json {
		enc := json.NewEncoder(o.w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(o.w, 0, 0, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// done confirms an operation that returns no body. In JSON mode it prints
// nothing: the exit status is the answer.
func (o output) done(format string, args ...any) error {
	if o.json {
		return nil
	}
	_, err := fmt.Fprintf(o.w, format+"\n", args...)
	return err
}

// id prints a created object's id alone on a line (-q), whatever -o says:
// NET=$(quantumctl net-create -q net1).
func (o output) id(id string) error {
	_, err := fmt.Fprintln(o.w, id)
	return err
}

// quietFlag registers -q on a command that creates what.
func quietFlag(fs *pflag.FlagSet, what string) *bool {
	return fs.BoolP("quiet", "q", false, "print only the new "+what+"'s id, for scripts")
}

// row writes one tab-separated table row; empty cells show as "-" so columns
// stay readable (and splittable by whitespace).
func row(w io.Writer, cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

func itoa(n int) string { return fmt.Sprint(n) }

// itoa0 leaves 0 empty: a segmentation id of 0 means "none".
func itoa0(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

func attID(a *client.Attachment) string {
	if a == nil {
		return ""
	}
	return a.ID
}

func attStatus(a *client.Attachment) string {
	if a == nil {
		return ""
	}
	return a.Status
}
