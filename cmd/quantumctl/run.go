package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

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

// register binds the global flags to fs. Called on the top-level flag set
// and again on each command's, with the values parsed so far as defaults,
// so "quantumctl -o json net-list" and "quantumctl net-list -o json" agree.
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.socket, "socket", g.socket, "agent socket `path` (env QUANTUM_SOCKET)")
	fs.StringVar(&g.tenant, "tenant", g.tenant, "tenant `id` (env QUANTUM_TENANT)")
	fs.StringVar(&g.output, "o", g.output, "output `format`: table or json")
	fs.StringVar(&g.api, "api", g.api, "API `version`: v1.0 or v1.1")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "per-request `timeout` (each retry of a request after 503 gets its own)")
}

func (g *globals) validate() error {
	if g.output != "table" && g.output != "json" {
		return usageErrorf("-o must be table or json, not %q", g.output)
	}
	if g.api != string(client.V10) && g.api != string(client.V11) {
		return usageErrorf("--api must be v1.0 or v1.1, not %q", g.api)
	}
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

func (a *app) run(ctx context.Context, args []string) int {
	g := a.defaults()
	top := flag.NewFlagSet("quantumctl", flag.ContinueOnError)
	top.SetOutput(io.Discard) // we print our own usage, once
	g.register(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.usage(a.stdout)
			return exitOK
		}
		return a.usageFail(err, "")
	}
	rest := top.Args()
	if len(rest) == 0 {
		a.usage(a.stderr)
		return exitUsage
	}
	name, rest := rest[0], rest[1:]
	if name == "help" {
		return a.help(rest)
	}
	cmd, ok := findCommand(name)
	if !ok {
		return a.usageFail(usageErrorf("unknown command %q", name), "")
	}
	return a.runCommand(ctx, &g, cmd, rest)
}

func (a *app) runCommand(ctx context.Context, g *globals, cmd command, args []string) int {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g.register(fs)
	runCmd := cmd.setup(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		a.commandUsage(a.stdout, cmd)
		return exitOK
	}
	if err == nil && len(pos) != cmd.nargs {
		err = arityError(cmd, len(pos))
	}
	if err == nil {
		err = g.validate()
	}
	if err != nil {
		return a.usageFail(err, cmd.name)
	}
	s := a.session(g)
	if err := runCmd(ctx, s, pos); err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			return a.usageFail(err, cmd.name)
		}
		fmt.Fprintf(a.stderr, "quantumctl: %s\n", describe(err, g))
		return exitFault
	}
	return exitOK
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

// usageFail reports a command-line mistake with a pointer to the right usage.
func (a *app) usageFail(err error, cmd string) int {
	fmt.Fprintf(a.stderr, "quantumctl: %v\n", err)
	if cmd == "" {
		fmt.Fprintln(a.stderr, "Run 'quantumctl help' for usage.")
	} else {
		fmt.Fprintf(a.stderr, "Run 'quantumctl help %s' for usage.\n", cmd)
	}
	return exitUsage
}

// parseInterspersed lets flags follow positional arguments
// ("net-create NAME --type vlan"), which the flag package alone stops at.
// Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// describe turns an error into a sentence for a person. Not-found faults
// name the tenant, because another tenant's network is reported as missing
// and the wrong --tenant is the usual cause.
func describe(err error, g *globals) string {
	var uo *unknownOutcome
	if errors.As(err, &uo) {
		return describe(uo.err, g) + "; " + uo.hint()
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
