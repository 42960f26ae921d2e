package main

import (
	"context"
	"io"

	"github.com/spf13/pflag"

	"github.com/quantum-agent/quantum-agent/api/client"
)

// portTable is shared by port-list and net-show.
func portTable(w io.Writer, ports []client.Port) {
	row(w, "PORT", "STATE", "OP-STATUS", "ATTACHMENT", "STATUS")
	for _, p := range ports {
		row(w, p.ID, p.State, p.OpStatus, attID(p.Attachment), attStatus(p.Attachment))
	}
}

func setupPortList(fs *pflag.FlagSet) runFunc {
	filters := filterFlag{}
	fs.Var(filters, "filter", "list filter `key=value` (repeatable): state, op-status, has-attachment, attachment")
	return func(ctx context.Context, s *session, args []string) error {
		ports, err := s.c.ListPortsDetail(ctx, s.tenant, args[0], filters)
		if err != nil {
			return err
		}
		if ports == nil {
			ports = []client.Port{}
		}
		return s.out.emit(map[string]any{"ports": ports}, func(w io.Writer) {
			portTable(w, ports)
		})
	}
}

// portStates are a port's admin states.
var portStates = []string{"ACTIVE", "DOWN"}

func setupPortCreate(fs *pflag.FlagSet) runFunc {
	var state string
	choiceFlag(fs, &state, "state", "", "", portStates, "admin `state`: ACTIVE or DOWN (default: the agent's, DOWN)")
	key := keyFlag(fs)
	quiet := quietFlag(fs, "port")
	return func(ctx context.Context, s *session, args []string) error {
		ctx, k := withKey(ctx, *key)
		id, err := s.c.CreatePort(ctx, s.tenant, args[0], state)
		if err != nil {
			return keyedResult(err, k)
		}
		if *quiet {
			return s.out.id(id)
		}
		if s.out.json {
			return s.out.emit(map[string]any{"port": client.Port{ID: id}}, nil)
		}
		return s.out.done("Created port %s on network %s", id, args[0])
	}
}

func setupPortShow(*pflag.FlagSet) runFunc {
	return func(ctx context.Context, s *session, args []string) error {
		p, err := s.c.GetPort(ctx, s.tenant, args[0], args[1])
		if err != nil {
			return err
		}
		return s.out.emit(map[string]any{"port": p}, func(w io.Writer) {
			row(w, "ID", p.ID)
			row(w, "Network", args[0])
			row(w, "State", p.State)
			row(w, "Op-status", p.OpStatus)
			row(w, "Attachment", attID(p.Attachment))
			if a := p.Attachment; a != nil {
				statusRows(w, a)
			}
		})
	}
}

func setupPortUpdate(*pflag.FlagSet) runFunc {
	return func(ctx context.Context, s *session, args []string) error {
		st, err := portState(args[2])
		if err != nil {
			return err
		}
		if err := s.c.UpdatePort(ctx, s.tenant, args[0], args[1], st); err != nil {
			return err
		}
		return s.out.done("Set port %s on network %s to %s", args[1], args[0], st)
	}
}

func setupPortDelete(*pflag.FlagSet) runFunc {
	return func(ctx context.Context, s *session, args []string) error {
		if err := s.c.DeletePort(ctx, s.tenant, args[0], args[1]); err != nil {
			return err
		}
		return s.out.done("Deleted port %s on network %s", args[1], args[0])
	}
}
