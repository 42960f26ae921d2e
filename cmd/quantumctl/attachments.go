package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
)

// plugFlags registers the vif-binding flags shared by plug and net-plug.
func plugFlags(fs *flag.FlagSet) *client.PlugRequest {
	req := &client.PlugRequest{}
	fs.StringVar(&req.Device, "device", "", "host `device` to attach, e.g. tap1234")
	fs.StringVar(&req.MAC, "mac", "", "interface `MAC` address")
	fs.StringVar(&req.VMID, "vm-id", "", "`id` of the VM owning the interface")
	fs.StringVar(&req.Host, "host", "", "`hypervisor` the interface lives on (default: the agent's)")
	return req
}

// statusRows prints an attachment's status, shown by port-show and
// attachment-show alike.
func statusRows(w io.Writer, a *client.Attachment) {
	row(w, "Status", a.Status)
	if a.Reason != "" {
		row(w, "Reason", a.Reason)
	}
}

// bindingRows prints the vif-binding fields. Only attachment-show has them:
// the port views do not carry them, and "-" there would wrongly say "none".
func bindingRows(w io.Writer, a *client.Attachment) {
	row(w, "Device", a.Device)
	row(w, "MAC", a.MAC)
	row(w, "VM id", a.VMID)
	row(w, "Host", a.Host)
}

func setupPlug(fs *flag.FlagSet) runFunc {
	req := plugFlags(fs)
	wait := fs.Bool("wait", false, "after plugging, wait until the attachment is UP and print its status; exit 1 if it is FAILED or not UP in time")
	timeout := fs.Duration("wait-timeout", 60*time.Second, "how long --wait may hold")
	key := keyFlag(fs)
	return func(ctx context.Context, s *session, args []string) error {
		req.ID = args[2]
		plugCtx, k := withKey(ctx, *key)
		if err := s.c.Plug(plugCtx, s.tenant, args[0], args[1], *req); err != nil {
			return keyedResult(err, k)
		}
		if !*wait {
			return s.out.done("Plugged %s into port %s on network %s", req.ID, args[1], args[0])
		}
		return waitUp(ctx, s, args[0], args[1], req.ID, *timeout)
	}
}

// waitUp waits (wait extension) for the attachment of a port to be UP,
// prints it, and fails unless it is UP: FAILED and a timeout are errors.
func waitUp(ctx context.Context, s *session, netID, portID, ifaceID string, timeout time.Duration) error {
	a, err := s.c.WaitAttachment(ctx, s.tenant, netID, portID, "UP", timeout)
	if err != nil {
		return fmt.Errorf("plugged %s, but waiting for UP failed: %w", ifaceID, err)
	}
	if a == nil {
		return fmt.Errorf("plugged %s, but port %s has no attachment any more", ifaceID, portID)
	}
	err = s.out.emit(map[string]any{"attachment": a}, func(w io.Writer) {
		row(w, "ID", a.ID)
		row(w, "Port", a.PortID)
		statusRows(w, a)
	})
	switch {
	case err != nil:
		return err
	case a.Status == "FAILED":
		return fmt.Errorf("attachment %s is FAILED: %s", a.ID, a.Reason)
	case a.Status != "UP":
		return fmt.Errorf("attachment %s is %s, not UP, after %s", a.ID, a.Status, timeout)
	}
	return nil
}

func setupNetPlug(fs *flag.FlagSet) runFunc {
	req := plugFlags(fs)
	key := keyFlag(fs)
	return func(ctx context.Context, s *session, args []string) error {
		req.ID = args[1]
		ctx, k := withKey(ctx, *key)
		port, err := s.c.PlugIntoNetwork(ctx, s.tenant, args[0], *req)
		if err != nil {
			return keyedResult(err, k)
		}
		if s.out.json {
			p := client.Port{ID: port, Attachment: &client.Attachment{ID: req.ID}}
			return s.out.emit(map[string]any{"port": p}, nil)
		}
		return s.out.done("Plugged %s into port %s on network %s", req.ID, port, args[0])
	}
}

func setupUnplug(*flag.FlagSet) runFunc {
	return func(ctx context.Context, s *session, args []string) error {
		if err := s.c.Unplug(ctx, s.tenant, args[0], args[1]); err != nil {
			return err
		}
		return s.out.done("Unplugged port %s on network %s", args[1], args[0])
	}
}

func setupAttachmentShow(fs *flag.FlagSet) runFunc {
	wait := fs.String("wait", "", "hold until the attachment is `status` (UP; FAILED also ends the wait)")
	timeout := fs.Duration("wait-timeout", 30*time.Second, "how long --wait may hold")
	return func(ctx context.Context, s *session, args []string) error {
		var a *client.Attachment
		var err error
		if *wait != "" {
			a, err = s.c.WaitAttachment(ctx, s.tenant, args[0], args[1], *wait, *timeout)
		} else {
			a, err = s.c.GetAttachment(ctx, s.tenant, args[0], args[1])
		}
		if err != nil {
			return err
		}
		if a == nil {
			if s.out.json {
				return s.out.emit(map[string]any{"attachment": struct{}{}}, nil)
			}
			return s.out.done("Port %s on network %s has no attachment", args[1], args[0])
		}
		return s.out.emit(map[string]any{"attachment": a}, func(w io.Writer) {
			row(w, "ID", a.ID)
			row(w, "Port", a.PortID)
			statusRows(w, a)
			bindingRows(w, a)
		})
	}
}

func setupAttList(*flag.FlagSet) runFunc {
	return func(ctx context.Context, s *session, args []string) error {
		atts, err := s.c.ListAttachments(ctx, s.tenant, args[0])
		if err != nil {
			return err
		}
		if atts == nil {
			atts = []client.Attachment{}
		}
		return s.out.emit(map[string]any{"attachments": atts}, func(w io.Writer) {
			row(w, "ATTACHMENT", "PORT", "STATUS", "REASON")
			for _, a := range atts {
				row(w, a.ID, a.PortID, a.Status, a.Reason)
			}
		})
	}
}
