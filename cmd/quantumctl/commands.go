package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// runFunc runs a command with its positional arguments, already counted.
type runFunc func(ctx context.Context, s *session, args []string) error

// command is one subcommand. setup registers its own flags on fs and
// returns the function that runs it, which closes over those flags.
type command struct {
	name    string
	args    string // positional arguments, for usage
	nargs   int
	summary string
	setup   func(fs *flag.FlagSet) runFunc
}

// commands is built on each call so there is no package-level table to
// mutate. Order is the order of the help text.
func commands() []command {
	return []command{
		{"net-list", "", 0, "List the tenant's networks", setupNetList},
		{"net-create", "NAME", 1, "Create a network", setupNetCreate},
		{"net-show", "NET", 1, "Show a network and its ports", setupNetShow},
		{"net-update", "NET NAME", 2, "Rename a network", setupNetUpdate},
		{"net-delete", "NET", 1, "Delete a network (and its unattached ports)", setupNetDelete},
		{"port-list", "NET", 1, "List a network's ports", setupPortList},
		{"port-create", "NET", 1, "Create a port", setupPortCreate},
		{"port-show", "NET PORT", 2, "Show a port and its attachment", setupPortShow},
		{"port-update", "NET PORT STATE", 3, "Set a port's admin state (ACTIVE or DOWN)", setupPortUpdate},
		{"port-delete", "NET PORT", 2, "Delete a port", setupPortDelete},
		{"plug", "NET PORT IFACE_ID", 3, "Plug an interface into a port", setupPlug},
		{"unplug", "NET PORT", 2, "Unplug whatever is plugged into a port", setupUnplug},
		{"attachment-show", "NET PORT", 2, "Show what is plugged into a port", setupAttachmentShow},
		{"att-list", "NET", 1, "List a network's attachments (attachments extension)", setupAttList},
		{"net-plug", "NET IFACE_ID", 2, "Plug an interface into a free or new port (attachments extension)", setupNetPlug},
		{"ext-list", "", 0, "List the extensions the agent offers", setupExtList},
		{"version-list", "", 0, "List the API versions the agent serves", setupVersionList},
		{"status", "", 0, "Show the agent's version, readiness, database connections and counts (exit 1 if not ready)", setupStatus},
		{"completion", "SHELL", 1, "Print a shell completion script (bash): quantumctl completion bash > /etc/bash_completion.d/quantumctl", setupCompletion},
	}
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// usage prints the overview: global flags and the command list.
func (a *app) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: quantumctl [global flags] COMMAND [arguments] [flags]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-34s %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	fmt.Fprintf(w, "  %-34s %s\n", "help [COMMAND]", "Show this text, or a command's flags")
	fmt.Fprintln(w, "\nGlobal flags (also accepted after the command):")
	g := a.defaults()
	fs := flag.NewFlagSet("quantumctl", flag.ContinueOnError)
	g.register(fs)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w, "\nExit status: 0 success, 1 the agent reported a fault or could not be reached, 2 usage error.")
}

// commandUsage prints one command's arguments and own flags; the global
// flags are left to the overview so they are not repeated everywhere.
func (a *app) commandUsage(w io.Writer, c command) {
	fmt.Fprintf(w, "usage: quantumctl %s [flags]\n\n%s.\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.setup(fs)
	fs.SetOutput(w)
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintln(w, "\nFlags:")
		fs.PrintDefaults()
	}
	fmt.Fprintln(w, "\nGlobal flags (--socket, --tenant, -o, --api, --timeout) are accepted too; see 'quantumctl help'.")
}

// help serves "quantumctl help [COMMAND]".
func (a *app) help(args []string) int {
	switch len(args) {
	case 0:
		a.usage(a.stdout)
		return exitOK
	case 1:
		c, ok := findCommand(args[0])
		if !ok {
			return a.usageFail(usageErrorf("unknown command %q", args[0]), "")
		}
		a.commandUsage(a.stdout, c)
		return exitOK
	}
	return a.usageFail(usageErrorf("help takes at most one command"), "")
}

// filterFlag collects repeated --filter key=value into list filters.
type filterFlag map[string]string

func (f filterFlag) String() string { return "" }

func (f filterFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	f[k] = val
	return nil
}

// portState accepts a state in any case, as the agent does, and refuses
// anything else here so a typo is a usage error, not a round trip.
func portState(s string) (string, error) {
	u := strings.ToUpper(s)
	if u != "ACTIVE" && u != "DOWN" {
		return "", usageErrorf("port state must be ACTIVE or DOWN, not %q", s)
	}
	return u, nil
}
