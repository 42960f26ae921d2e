package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/quantum-agent/quantum-agent/api/client"
)

// errNotReady makes `quantumctl status` exit 1 after printing the status of
// an agent that is not ready, so scripts can wait on it.
var errNotReady = errors.New("quantum-agent is not ready")

func setupStatus(*pflag.FlagSet) runFunc {
	return func(ctx context.Context, s *session, _ []string) error {
		st, err := s.c.Status(ctx)
		if err != nil {
			return err
		}
		err = s.out.emit(st, func(w io.Writer) { statusTable(w, st, time.Now()) })
		if err == nil && !st.Ready {
			return fmt.Errorf("%w: %s", errNotReady, st.Reason)
		}
		return err
	}
}

func statusTable(w io.Writer, st *client.AgentStatus, now time.Time) {
	row(w, "Agent", fmt.Sprintf("quantum-agent %s (%s)", st.Version, st.GoVersion))
	row(w, "Host", st.Host)
	row(w, "Datapath", st.Datapath)
	if st.Ready {
		row(w, "Ready", "yes")
	} else {
		row(w, "Ready", "no: "+st.Reason)
	}
	for _, warning := range st.Warnings {
		row(w, "Warning", warning)
	}
	for _, db := range st.Databases {
		state := "connected"
		if !db.Connected {
			state = "NOT CONNECTED"
		}
		row(w, dbTitle(db.Name), state+" ("+strings.Join(db.Endpoints, ",")+")")
	}
	if !st.Started.IsZero() {
		row(w, "Up since", st.Started.Local().Format(time.RFC3339)+" ("+ago(now, st.Started)+")")
	}
	if st.LastPass.IsZero() {
		row(w, "Last reconcile", "none yet")
	} else {
		row(w, "Last reconcile", ago(now, st.LastPass))
	}
	if st.CountError != "" {
		row(w, "Counts", "unavailable: "+st.CountError)
		return
	}
	row(w, "Networks", itoa(st.Networks))
	row(w, "Ports", byState(st.Ports, "UP", "DOWN", "PROVISIONING"))
	row(w, "Attachments", byState(st.Attachments, "UP", "FAILED", "PROVISIONING", "DOWN"))
}

func dbTitle(name string) string {
	switch name {
	case "quantum":
		return "Quantum DB"
	case "open_vswitch":
		return "Open_vSwitch DB"
	}
	return name
}

// byState prints "12 UP, 0 FAILED, ..." with the states people look for
// first in a fixed order, then any other in name order.
func byState(m map[string]int, first ...string) string {
	var parts []string
	seen := map[string]bool{}
	for _, s := range first {
		parts = append(parts, fmt.Sprintf("%d %s", m[s], s))
		seen[s] = true
	}
	var rest []string
	for s := range m {
		if !seen[s] {
			rest = append(rest, s)
		}
	}
	sort.Strings(rest)
	for _, s := range rest {
		parts = append(parts, fmt.Sprintf("%d %s", m[s], s))
	}
	return strings.Join(parts, ", ")
}

func ago(now, t time.Time) string {
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}
