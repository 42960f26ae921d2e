package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/quantum-agent/quantum-agent/api/client"
)

// Exit codes: scripts tell "the agent said no" from "I typed it wrong".
const (
	exitOK    = 0
	exitFault = 1 // API fault, unreachable agent, any runtime failure
	exitUsage = 2
)

// globals are the flags every command accepts, before or after its name.
type globals struct {
	socket  string
	tenant  string
	output  string
	api     string
	timeout time.Duration
}

// Output formats and API versions -o and --api accept.
var (
	outputFormats = []string{"table", "json"}
	apiVersions   = []string{string(client.V10), string(client.V11)}
)

// register binds the global flags to fs, with the values in g (from the
// environment) as defaults.
func (g *globals) register(fs *pflag.FlagSet) {
	fs.StringVar(&g.socket, "socket", g.socket, "agent socket `path` (env QUANTUM_SOCKET)")
	fs.StringVar(&g.tenant, "tenant", g.tenant, "tenant `id` (env QUANTUM_TENANT)")
	choiceFlag(fs, &g.output, "output", "o", g.output, outputFormats, "output `format`: table or json")
	choiceFlag(fs, &g.api, "api", "", g.api, apiVersions, "API `version`: v1.0 or v1.1")
	durationFlag(fs, &g.timeout, "timeout", g.timeout, "`duration` a request may take (each retry after a 503 gets its own)")
}

func (g *globals) validate() error {
	if g.tenant == "" {
		return usageErrorf("--tenant must not be empty")
	}
	return nil
}

// usageError marks a mistake on the command line (exit 2), as opposed to one
// the agent reported (exit 1).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errNoCommand is a bare "quantumctl": the overview goes to stderr, with no
// error line of its own.
var errNoCommand = errors.New("no command")

// app is one invocation's environment; run builds it from the process's, and
// tests may build their own.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// clientOpts are added to the client's options (tests shorten the
	// retry waits with them).
	clientOpts []client.Option
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return a.run(ctx, args)
}

func (a *app) defaults() globals {
	g := globals{
		socket:  a.getenv("QUANTUM_SOCKET"),
		tenant:  a.getenv("QUANTUM_TENANT"),
		output:  "table",
		api:     string(client.V11),
		timeout: client.DefaultTimeout,
	}
	if g.socket == "" {
		g.socket = client.DefaultSocket
	}
	if g.tenant == "" {
		g.tenant = "default"
	}
	return g
}

// invocation is what one run learns while cobra executes: whether a
// command's own code ran (an error before that is a usage error, whatever
// part of cobra or pflag reported it).
type invocation struct {
	ran bool
}

func (a *app) run(ctx context.Context, args []string) int {
	g := a.defaults()
	var inv invocation
	root := a.rootCommand(&g, &inv)
	root.SetArgs(longFlagsWithTwoDashes(root, waitValuesJoined(args)))
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var ue *usageError
	switch {
	case errors.Is(err, errNoCommand):
		a.usage(a.stderr, root)
		return exitUsage
	case errors.As(err, &ue), !inv.ran:
		return a.usageFail(err, cmd)
	}
	fmt.Fprintf(a.stderr, "quantumctl: %s\n", describe(err, &g))
	return exitFault
}

// usageFail reports a command-line mistake with a pointer to the right usage.
func (a *app) usageFail(err error, cmd *cobra.Command) int {
	fmt.Fprintf(a.stderr, "quantumctl: %v\n", err)
	if cmd == nil || !cmd.HasParent() || cmd.Name() == "help" {
		fmt.Fprintln(a.stderr, "Run 'quantumctl help' for usage.")
	} else {
		fmt.Fprintf(a.stderr, "Run 'quantumctl help %s' for usage.\n", cmd.Name())
	}
	return exitUsage
}

func (a *app) session(g *globals) *session {
	opts := append([]client.Option{
		client.WithAPIVersion(client.APIVersion(g.api)),
		client.WithTimeout(g.timeout),
	}, a.clientOpts...)
	c := client.New(g.socket, opts...)
	return &session{
		c:      c,
		tenant: g.tenant,
		out:    output{w: a.stdout, json: g.output == "json"},
	}
}

func arityError(cmd command, got int) error {
	if cmd.nargs == 0 {
		return usageErrorf("%s takes no arguments, got %d", cmd.name, got)
	}
	return usageErrorf("%s wants %s, got %d argument(s)", cmd.name, cmd.args, got)
}

// waitValuesJoined turns "--wait UP" into "--wait=UP". --wait takes a status
// and, bare, means UP (what plug's boolean --wait meant): pflag can have a
// flag whose value is optional only in the "--wait=UP" spelling, so the
// spaced one is joined here. A bare --wait is one at the end or before
// another flag. Nothing after "--" is touched.
func waitValuesJoined(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		if args[i] == "--" {
			return append(out, args[i:]...)
		}
		if args[i] == "--wait" && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			out = append(out, "--wait="+args[i+1])
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// longFlagsWithTwoDashes keeps "-socket PATH" working, as the flag package
// of earlier quantumctl versions read it: a single-dash word that is the
// long name of a flag of some command gets its second dash. Nothing after
// "--" is touched.
func longFlagsWithTwoDashes(root *cobra.Command, args []string) []string {
	long := map[string]bool{}
	collect := func(f *pflag.Flag) { long[f.Name] = true }
	root.PersistentFlags().VisitAll(collect)
	for _, c := range root.Commands() {
		c.Flags().VisitAll(collect)
	}
	out := make([]string, 0, len(args))
	for i, arg := range args {
		if arg == "--" {
			return append(out, args[i:]...)
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(arg, "-"), "=")
		if len(name) > 1 && strings.HasPrefix(arg, "-") && !strings.HasPrefix(arg, "--") && long[name] {
			arg = "-" + arg
		}
		out = append(out, arg)
	}
	return out
}

// describe turns an error into a sentence for a person. Not-found faults
// name the tenant, because another tenant's network is reported as missing
// and the wrong --tenant is the usual cause.
func describe(err error, g *globals) string {
	var uo *unknownOutcome
	if errors.As(err, &uo) {
		return describe(uo.err, g) + "; " + uo.hint()
	}
	var ue *client.UnreachableError
	if errors.As(err, &ue) && errors.Is(ue, os.ErrPermission) {
		return permissionDenied(ue.Target)
	}
	var f *client.Fault
	if !errors.As(err, &f) {
		return err.Error()
	}
	text := strings.TrimSuffix(f.Detail, ".")
	if text == "" {
		text = strings.TrimSuffix(f.Message, ".")
	}
	if text == "" {
		text = f.Error()
	}
	switch {
	case errors.Is(f, client.ErrNetworkNotFound), errors.Is(f, client.ErrPortNotFound):
		return fmt.Sprintf("%s (tenant %s)", text, g.tenant)
	case errors.Is(f, client.ErrNotFound), errors.Is(f, client.ErrMethodNotAllowed):
		return fmt.Sprintf("quantum-agent does not offer this operation on API %s: %s", g.api, text)
	case errors.Is(f, client.ErrStateInvalid):
		return fmt.Sprintf("%s (a port state is ACTIVE or DOWN)", text)
	case errors.Is(f, client.ErrIdempotencyKeyReused):
		return fmt.Sprintf("%s (--idempotency-key names one operation: use a new key for a different one)", text)
	}
	return text
}
