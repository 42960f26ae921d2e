// Command quantumctl is the command-line client of quantum-agent, after the
// released Quantum CLI (net-list, port-create, plug, ...). It talks to the
// agent only through api/client, over the agent's Unix socket; it knows
// nothing of the agent's internals.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if wantsVersion(os.Args[1:]) {
		fmt.Println("quantumctl", version)
		return
	}
	// Ctrl-C cancels the request in flight instead of killing mid-write.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
