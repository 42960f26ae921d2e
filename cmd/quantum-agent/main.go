// Command quantum-agent is the Quantum network agent of one hypervisor: it
// serves the Quantum API on a Unix socket, keeps the desired state in the
// Quantum DB and wires it into the datapath. See DESIGN.md and docs/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time: -ldflags "-X main.version=1.2.3-1", the package version
// (the Makefile and packaging/build-deb.sh take it from packaging/version.sh).
var version = "0.0.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "quantum-agent:", err)
		os.Exit(1)
	}
}

// run is the whole daemon: config → logger → store → datapath → reconciler →
// API, until ctx ends (SIGTERM), then a drain. It returns nil on a clean stop.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	if cfg.Version {
		fmt.Fprintln(stdout, "quantum-agent", version)
		return nil
	}
	d, err := newDaemon(cfg, args, stderr)
	if err != nil {
		return err
	}
	return d.run(ctx)
}
