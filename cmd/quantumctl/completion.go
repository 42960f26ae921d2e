package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Completion is cobra's: the scripts ask "quantumctl __complete ..." for
// candidates, so they follow the commands and flags of the binary they call
// and never go stale. What cobra cannot know is added here: the fixed
// values of some flags and arguments.

// completionShells are the shells `completion SHELL` writes a script for.
var completionShells = []string{"bash", "zsh", "fish"}

func setupCompletion(*pflag.FlagSet) runFunc {
	// Run by cobraCommand, which has the command tree; never called.
	return func(context.Context, *session, []string) error { return nil }
}

// writeCompletion prints the completion script of shell, with descriptions.
func writeCompletion(root *cobra.Command, w io.Writer, shell string) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(w, true)
	case "zsh":
		return root.GenZshCompletion(w)
	case "fish":
		return root.GenFishCompletion(w, true)
	}
	return usageErrorf("completion supports %s, not %q", orList(completionShells), shell)
}

// addCompletions registers the fixed values of flags and arguments.
func addCompletions(root *cobra.Command) {
	words := func(ws ...string) cobra.CompletionFunc {
		return cobra.FixedCompletions(ws, cobra.ShellCompDirectiveNoFileComp)
	}
	root.RegisterFlagCompletionFunc("output", words(outputFormats...))
	root.RegisterFlagCompletionFunc("api", words(apiVersions...))
	root.RegisterFlagCompletionFunc("tenant", cobra.NoFileCompletions)
	root.RegisterFlagCompletionFunc("timeout", cobra.NoFileCompletions)
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			continue // completes command names itself
		}
		c.ValidArgsFunction = cobra.NoFileCompletions
		fs := c.Flags()
		for flag, fn := range map[string]cobra.CompletionFunc{
			"state":  words(portStates...),
			"type":   words("vlan", "flat", "vxlan", "local"),
			"wait":   words(waitStatuses...),
			"filter": cobra.NoFileCompletions,
			"device": cobra.NoFileCompletions,
			"mac":    cobra.NoFileCompletions,
			"vm-id":  cobra.NoFileCompletions,
			"host":   cobra.NoFileCompletions,
		} {
			if fs.Lookup(flag) != nil {
				c.RegisterFlagCompletionFunc(flag, fn)
			}
		}
		switch c.Name() {
		case "completion":
			c.ValidArgs = completionShells
			c.ValidArgsFunction = nil
		case "port-update":
			c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
				if len(args) == 2 {
					return portStates, cobra.ShellCompDirectiveNoFileComp
				}
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
		}
	}
}
