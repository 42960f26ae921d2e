package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// usage prints the overview: the command list and the global flags, which
// pflag shows as --flag, as the man page does.
func (a *app) usage(w io.Writer, root *cobra.Command) {
	fmt.Fprintln(w, "usage: quantumctl [global flags] COMMAND [arguments] [flags]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range listed(root) {
		fmt.Fprintf(w, "  %-34s %s\n", c.Use, c.Short)
	}
	fmt.Fprintln(w, "\nGlobal flags (also accepted after the command):")
	fmt.Fprint(w, root.PersistentFlags().FlagUsages())
	fmt.Fprintln(w, "\nExit status: 0 success, 1 the agent reported a fault, could not be reached or a wait ended")
	fmt.Fprintln(w, "without its status, 2 usage error. 'quantumctl help COMMAND' shows a command's flags;")
	fmt.Fprintln(w, "man quantumctl has them all.")
}

// commandUsage prints one command's arguments and own flags; the global
// flags are left to the overview so they are not repeated everywhere.
func (a *app) commandUsage(w io.Writer, c *cobra.Command) {
	fmt.Fprintf(w, "usage: quantumctl %s [flags]\n\n%s.\n", c.Use, c.Short)
	own := c.LocalNonPersistentFlags()
	own.SortFlags = false
	if own.HasAvailableFlags() {
		fmt.Fprintln(w, "\nFlags:")
		fmt.Fprint(w, own.FlagUsages())
	}
	fmt.Fprintf(w, "\nGlobal flags (%s) are accepted too; see 'quantumctl help'.\n", globalFlagNames(c.Root().PersistentFlags()))
}

// globalFlagNames is "--socket, --tenant, -o, ...": each flag as it is
// usually typed.
func globalFlagNames(fs *pflag.FlagSet) string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Shorthand != "" {
			names = append(names, "-"+f.Shorthand)
		} else {
			names = append(names, "--"+f.Name)
		}
	})
	return strings.Join(names, ", ")
}

// listed is the commands in the order of the table (cobra sorts its own
// list by name), help last.
func listed(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, c := range commands() {
		if cc, _, err := root.Find([]string{c.name}); err == nil && cc != root {
			out = append(out, cc)
		}
	}
	if h, _, err := root.Find([]string{"help"}); err == nil && h != root {
		out = append(out, h)
	}
	return out
}
