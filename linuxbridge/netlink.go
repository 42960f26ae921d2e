package linuxbridge

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// dumpRetries bounds how often a dump interrupted by concurrent changes is
// started again before its possibly inconsistent result is refused.
const dumpRetries = 5

// retryDump runs a netlink dump again while the kernel reports it was
// interrupted (NLM_F_DUMP_INTR: the table changed while it was being read),
// so no caller ever diffs against a half-read table.
func retryDump[T any](what string, dump func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range dumpRetries {
		v, err = dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("dump %s: %w", what, err)
	}
	return v, nil
}

func listLinks(h *netlink.Handle) ([]netlink.Link, error) {
	return retryDump("links", h.LinkList)
}

// listFDB returns the bridge FDB entries of one device.
func listFDB(h *netlink.Handle, index int) ([]netlink.Neigh, error) {
	return retryDump("bridge FDB", func() ([]netlink.Neigh, error) { return h.NeighList(index, unix.AF_BRIDGE) })
}
