package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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
	setup   func(fs *pflag.FlagSet) runFunc
}

// Command groups, in the order of the man page.
const (
	groupNetworks    = "Networks"
	groupPorts       = "Ports"
	groupAttachments = "Attachments"
	groupAgent       = "The agent"
)

// commandGroup is the man page section of a command.
func commandGroup(name string) string {
	switch {
	case strings.HasPrefix(name, "net-") && name != "net-plug":
		return groupNetworks
	case strings.HasPrefix(name, "port-"):
		return groupPorts
	case name == "plug", name == "unplug", name == "net-plug", strings.HasPrefix(name, "att"):
		return groupAttachments
	}
	return groupAgent
}

// commands is built on each call so there is no package-level table to
// mutate. Order is the order of the help text.
func commands() []command {
	return []command{
		{"net-list", "", 0, "List the tenant's networks", setupNetList},
		{"net-create", "NAME", 1, "Create a network and print its id (-q: the id alone)", setupNetCreate},
		{"net-show", "NET", 1, "Show a network and its ports", setupNetShow},
		{"net-update", "NET NAME", 2, "Rename a network", setupNetUpdate},
		{"net-delete", "NET", 1, "Delete a network (and its unattached ports)", setupNetDelete},
		{"port-list", "NET", 1, "List a network's ports", setupPortList},
		{"port-create", "NET", 1, "Create a port and print its id (-q: the id alone)", setupPortCreate},
		{"port-show", "NET PORT", 2, "Show a port and its attachment", setupPortShow},
		{"port-update", "NET PORT STATE", 3, "Set a port's admin state (ACTIVE or DOWN)", setupPortUpdate},
		{"port-delete", "NET PORT", 2, "Delete a port", setupPortDelete},
		{"plug", "NET PORT IFACE_ID", 3, "Plug an interface into a port; with --wait, wait for its status (exit 1 if it is not reached)", setupPlug},
		{"unplug", "NET PORT", 2, "Unplug whatever is plugged into a port", setupUnplug},
		{"attachment-show", "NET PORT", 2, "Show what is plugged into a port; with --wait, wait for its status (exit 1 if it is not reached)", setupAttachmentShow},
		{"att-list", "NET", 1, "List a network's attachments (attachments extension)", setupAttList},
		{"net-plug", "NET IFACE_ID", 2, "Plug an interface into a free or new port and print the port (attachments extension)", setupNetPlug},
		{"ext-list", "", 0, "List the extensions the agent offers", setupExtList},
		{"version-list", "", 0, "List the API versions the agent serves", setupVersionList},
		{"status", "", 0, "Show the agent's version, readiness, database connections and counts (exit 1 if not ready)", setupStatus},
		{"completion", "SHELL", 1, "Print a shell completion script (bash, zsh or fish): quantumctl completion bash > /etc/bash_completion.d/quantumctl", setupCompletion},
	}
}

// rootCommand builds the command tree of one invocation: the global flags
// on the root, a cobra command per entry of commands(), and help.
func (a *app) rootCommand(g *globals, inv *invocation) *cobra.Command {
	root := &cobra.Command{
		Use:           "quantumctl",
		Short:         "command-line client of quantum-agent",
		SilenceErrors: true, // we print errors, once, with the exit code's meaning
		SilenceUsage:  true,
		// Did-you-mean: one or two letters off, or a prefix.
		SuggestionsMinimumDistance: 2,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			return unknownCommand(c, args[0])
		},
		RunE:              func(*cobra.Command, []string) error { return errNoCommand },
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	g.register(root.PersistentFlags())
	root.PersistentFlags().SortFlags = false
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf("%s", err) })
	root.SetHelpFunc(func(c *cobra.Command, _ []string) {
		if c == root {
			a.usage(a.stdout, root)
		} else {
			a.commandUsage(a.stdout, c)
		}
	})
	for _, c := range commands() {
		root.AddCommand(a.cobraCommand(c, g, inv))
	}
	root.SetHelpCommand(a.helpCommand(root))
	root.InitDefaultHelpCmd() // now, not at Execute: the man page lists it too
	addCompletions(root)
	return root
}

// cobraCommand wraps one command of the table.
func (a *app) cobraCommand(c command, g *globals, inv *invocation) *cobra.Command {
	cc := &cobra.Command{
		Use:   strings.TrimSpace(c.name + " " + c.args),
		Short: c.summary,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != c.nargs {
				return arityError(c, len(args))
			}
			return nil
		},
	}
	cc.Flags().SortFlags = false
	runCmd := c.setup(cc.Flags())
	cc.RunE = func(cmd *cobra.Command, args []string) error {
		if err := g.validate(); err != nil {
			return err
		}
		inv.ran = true
		if c.name == "completion" {
			return writeCompletion(cmd.Root(), a.stdout, args[0])
		}
		return runCmd(cmd.Context(), a.session(g), args)
	}
	return cc
}

// helpCommand serves "quantumctl help [COMMAND]", "help help" included.
func (a *app) helpCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]",
		Short: "Show the overview, or a command's flags",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("help takes at most one command, got %d", len(args))
			}
			return nil
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var names []string
			for _, c := range root.Commands() {
				if c.IsAvailableCommand() || c.Name() == "help" {
					names = append(names, c.Name())
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				a.usage(a.stdout, root)
				return nil
			}
			target, rest, err := root.Find(args)
			if err != nil || target == root || len(rest) > 0 {
				return unknownCommand(root, args[0])
			}
			a.commandUsage(a.stdout, target)
			return nil
		},
	}
}

// unknownCommand names the mistyped command and what it may have meant.
func unknownCommand(root *cobra.Command, name string) error {
	if s := root.SuggestionsFor(name); len(s) > 0 {
		return usageErrorf("unknown command %q: did you mean %s?", name, orList(s))
	}
	return usageErrorf("unknown command %q", name)
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
