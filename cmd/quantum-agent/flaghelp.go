package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"
)

// modeValue is a file mode flag shown in octal (0660, not 432). It reads
// what strconv does with base 0 — "0660" and "0o660" octal, "432" decimal —
// because a TOML integer in the configuration file (socket_mode = 0o660)
// reaches it as decimal text.
type modeValue uint

func (m *modeValue) Set(s string) error {
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil || v > 0o777 {
		return errors.New("want an octal file mode like 0660 (with the leading 0)")
	}
	*m = modeValue(v)
	return nil
}

func (m *modeValue) String() string { return fmt.Sprintf("%#o", uint(*m)) }

// durationValue is a positive duration flag whose parse error says what is
// expected (the flag package says only "parse error").
type durationValue time.Duration

func (d *durationValue) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration like 30s, 1m or 500ms")
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) String() string { return time.Duration(*d).String() }

func durationFlag(fs *flag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var((*durationValue)(p), name, usage)
}

// printUsage is -h: every flag as --name, as the man page writes it, with
// its value's name and default.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: quantum-agent [--config file] [options]")
	fmt.Fprintln(w, "       quantum-agent --version")
	fmt.Fprintln(w, "\nOptions (each also a key of the --config file: the name with _ for -; see quantum-agent(8)):")
	fs.VisitAll(func(f *flag.Flag) {
		value, usage := flag.UnquoteUsage(f)
		if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); isBool {
			value = ""
		}
		fmt.Fprintf(w, "  --%s", f.Name)
		if value != "" {
			fmt.Fprintf(w, " %s", value)
		}
		fmt.Fprintf(w, "\n        %s", usage)
		switch f.DefValue {
		case "", "0", "false":
		default:
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}
