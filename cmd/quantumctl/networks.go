package main

import (
	"context"
	"io"

	"github.com/spf13/pflag"

	"github.com/quantum-agent/quantum-agent/api/client"
)

func setupNetList(fs *pflag.FlagSet) runFunc {
	filters := filterFlag{}
	fs.Var(filters, "filter", "list filter `key=value` (repeatable): name, op-status, port-state, has-attachment, attachment, port")
	return func(ctx context.Context, s *session, _ []string) error {
		nets, err := s.c.ListNetworksDetail(ctx, s.tenant, filters)
		if err != nil {
			return err
		}
		if nets == nil {
			nets = []client.Network{} // "[]", not null, for scripts
		}
		return s.out.emit(map[string]any{"networks": nets}, func(w io.Writer) {
			row(w, "ID", "NAME", "OP-STATUS", "TYPE", "PHYSICAL-NETWORK", "SEGMENTATION-ID")
			for _, n := range nets {
				row(w, n.ID, n.Name, n.OpStatus, n.NetworkType, n.PhysicalNetwork, itoa0(n.SegmentationID))
			}
		})
	}
}

func setupNetCreate(fs *pflag.FlagSet) runFunc {
	var req client.NetworkRequest
	fs.StringVar(&req.NetworkType, "type", "", "provider network `type`: vlan, flat, vxlan or local")
	fs.StringVar(&req.PhysicalNetwork, "physical-network", "", "provider physical `network`")
	fs.Var((*countValue)(&req.SegmentationID), "segmentation-id", "VLAN `id` or VNI (default: the agent allocates)")
	key := keyFlag(fs)
	quiet := quietFlag(fs, "network")
	return func(ctx context.Context, s *session, args []string) error {
		req.Name = args[0]
		ctx, k := withKey(ctx, *key)
		id, err := s.c.CreateNetwork(ctx, s.tenant, req)
		if err != nil {
			return keyedResult(err, k)
		}
		if *quiet {
			return s.out.id(id)
		}
		if s.out.json {
			return s.out.emit(map[string]any{"network": client.Network{ID: id}}, nil)
		}
		return s.out.done("Created network %s (%s) for tenant %s", id, req.Name, s.tenant)
	}
}

func setupNetShow(*pflag.FlagSet) runFunc {
	return func(ctx context.Context, s *session, args []string) error {
		n, err := s.c.GetNetwork(ctx, s.tenant, args[0])
		if err != nil {
			return err
		}
		return s.out.emit(map[string]any{"network": n}, func(w io.Writer) {
			row(w, "ID", n.ID)
			row(w, "Name", n.Name)
			row(w, "Op-status", n.OpStatus)
			row(w, "Network type", n.NetworkType)
			row(w, "Physical network", n.PhysicalNetwork)
			row(w, "Segmentation id", itoa0(n.SegmentationID))
			row(w, "MTU", itoa0(n.MTU)) // the guest MTU a compute driver sets
			row(w, "Ports", itoa(len(n.Ports)))
			if len(n.Ports) > 0 {
				io.WriteString(w, "\n")
				portTable(w, n.Ports)
			}
		})
	}
}

func setupNetUpdate(*pflag.FlagSet) runFunc {
	return func(ctx context.Context, s *session, args []string) error {
		if err := s.c.UpdateNetwork(ctx, s.tenant, args[0], args[1]); err != nil {
			return err
		}
		return s.out.done("Renamed network %s to %s", args[0], args[1])
	}
}

func setupNetDelete(*pflag.FlagSet) runFunc {
	return func(ctx context.Context, s *session, args []string) error {
		if err := s.c.DeleteNetwork(ctx, s.tenant, args[0]); err != nil {
			return err
		}
		return s.out.done("Deleted network %s", args[0])
	}
}

func setupExtList(*pflag.FlagSet) runFunc {
	return func(ctx context.Context, s *session, _ []string) error {
		exts, err := s.c.Extensions(ctx)
		if err != nil {
			return err
		}
		if exts == nil {
			exts = []client.Extension{}
		}
		return s.out.emit(map[string]any{"extensions": exts}, func(w io.Writer) {
			row(w, "ALIAS", "NAME", "UPDATED", "DESCRIPTION")
			for _, e := range exts {
				row(w, e.Alias, e.Name, e.Updated, e.Description)
			}
		})
	}
}

func setupVersionList(*pflag.FlagSet) runFunc {
	return func(ctx context.Context, s *session, _ []string) error {
		vs, err := s.c.Versions(ctx)
		if err != nil {
			return err
		}
		if vs == nil {
			vs = []client.Version{}
		}
		return s.out.emit(map[string]any{"versions": vs}, func(w io.Writer) {
			row(w, "ID", "STATUS")
			for _, v := range vs {
				row(w, v.ID, v.Status)
			}
		})
	}
}
