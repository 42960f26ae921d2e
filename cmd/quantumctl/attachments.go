package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/quantum-agent/quantum-agent/api/client"
)

// plugFlags registers the vif-binding flags shared by plug and net-plug.
func plugFlags(fs *pflag.FlagSet) *client.PlugRequest {
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

// waitStatuses are the statuses --wait accepts (the wait extension's).
var waitStatuses = []string{"UP", "DOWN", "PROVISIONING", "FAILED"}

// waitFlags registers --wait STATUS and --wait-timeout, shared by plug and
// attachment-show. A bare --wait means UP.
func waitFlags(fs *pflag.FlagSet, timeout time.Duration) (status *string, wait *time.Duration) {
	status, wait = new(string), new(time.Duration)
	f := choiceFlag(fs, status, "wait", "", "", waitStatuses,
		"wait until the attachment is `status` (UP, DOWN, PROVISIONING or FAILED; bare --wait: UP) and print it; exit 1 if it is not, after --wait-timeout (FAILED also ends a wait)")
	f.NoOptDefVal = "UP"
	durationFlag(fs, wait, "wait-timeout", timeout, "how long --wait may hold (the agent holds at most 5m)")
	return status, wait
}

func setupPlug(fs *pflag.FlagSet) runFunc {
	req := plugFlags(fs)
	status, timeout := waitFlags(fs, 60*time.Second)
	key := keyFlag(fs)
	return func(ctx context.Context, s *session, args []string) error {
		req.ID = args[2]
		plugCtx, k := withKey(ctx, *key)
		if err := s.c.Plug(plugCtx, s.tenant, args[0], args[1], *req); err != nil {
			return keyedResult(err, k)
		}
		if *status == "" {
			return s.out.done("Plugged %s into port %s on network %s", req.ID, args[1], args[0])
		}
		a, err := s.c.WaitAttachment(ctx, s.tenant, args[0], args[1], *status, *timeout)
		if err != nil {
			return fmt.Errorf("plugged %s, but waiting for %s failed: %w", req.ID, *status, err)
		}
		if a == nil {
			return fmt.Errorf("plugged %s, but port %s has no attachment any more", req.ID, args[1])
		}
		if err := s.out.emit(map[string]any{"attachment": a}, func(w io.Writer) {
			row(w, "ID", a.ID)
			row(w, "Port", a.PortID)
			statusRows(w, a)
		}); err != nil {
			return err
		}
		return waitOutcome(a, *status, *timeout)
	}
}

// waitOutcome fails a wait that ended without the wanted status: FAILED
// (which ends every wait) or the timeout. The attachment is printed first,
// so the caller sees where it stands.
func waitOutcome(a *client.Attachment, want string, timeout time.Duration) error {
	switch {
	case a.Status == want:
		return nil
	case a.Status == "FAILED":
		return fmt.Errorf("attachment %s is FAILED: %s", a.ID, a.Reason)
	}
	return fmt.Errorf("attachment %s is %s, not %s, after %s", a.ID, a.Status, want, timeout)
}

func setupNetPlug(fs *pflag.FlagSet) runFunc {
	req := plugFlags(fs)
	key := keyFlag(fs)
	quiet := quietFlag(fs, "port")
	return func(ctx context.Context, s *session, args []string) error {
		req.ID = args[1]
		ctx, k := withKey(ctx, *key)
		port, err := s.c.PlugIntoNetwork(ctx, s.tenant, args[0], *req)
		if err != nil {
			return keyedResult(err, k)
		}
		if *quiet {
			return s.out.id(port)
		}
		if s.out.json {
			p := client.Port{ID: port, Attachment: &client.Attachment{ID: req.ID}}
			return s.out.emit(map[string]any{"port": p}, nil)
		}
		return s.out.done("Plugged %s into port %s on network %s", req.ID, port, args[0])
	}
}

func setupUnplug(*pflag.FlagSet) runFunc {
	return func(ctx context.Context, s *session, args []string) error {
		if err := s.c.Unplug(ctx, s.tenant, args[0], args[1]); err != nil {
			return err
		}
		return s.out.done("Unplugged port %s on network %s", args[1], args[0])
	}
}

func setupAttachmentShow(fs *pflag.FlagSet) runFunc {
	status, timeout := waitFlags(fs, 30*time.Second)
	return func(ctx context.Context, s *session, args []string) error {
		var a *client.Attachment
		var err error
		if *status != "" {
			a, err = s.c.WaitAttachment(ctx, s.tenant, args[0], args[1], *status, *timeout)
		} else {
			a, err = s.c.GetAttachment(ctx, s.tenant, args[0], args[1])
		}
		if err != nil {
			return err
		}
		if a == nil {
			if s.out.json {
				err = s.out.emit(map[string]any{"attachment": struct{}{}}, nil)
			} else {
				err = s.out.done("Port %s on network %s has no attachment", args[1], args[0])
			}
			if err == nil && *status != "" {
				err = fmt.Errorf("port %s has no attachment to be %s", args[1], *status)
			}
			return err
		}
		err = s.out.emit(map[string]any{"attachment": a}, func(w io.Writer) {
			row(w, "ID", a.ID)
			row(w, "Port", a.PortID)
			statusRows(w, a)
			bindingRows(w, a)
		})
		if err == nil && *status != "" {
			err = waitOutcome(a, *status, *timeout)
		}
		return err
	}
}

func setupAttList(*pflag.FlagSet) runFunc {
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
