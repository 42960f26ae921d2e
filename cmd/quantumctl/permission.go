package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// packagedGroup owns the socket of the packaged agent (quantum-agent.socket).
const packagedGroup = "quantum"

// permissionDenied says what to do about a socket this user may not open:
// join the group that owns it, named from the socket itself when it can be
// looked up.
func permissionDenied(socket string) string {
	group := socketGroup(socket)
	return fmt.Sprintf("permission denied on %s: join the group %s (usermod -aG %s USER, then log in again) or run as root",
		socket, group, group)
}

// socketGroup is the name of the group owning path, or packagedGroup when
// that cannot be told (the directory may not be searchable either).
func socketGroup(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return packagedGroup
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Gid == 0 {
		return packagedGroup // root's group is never the advice
	}
	gid := strconv.FormatUint(uint64(st.Gid), 10)
	if g, err := user.LookupGroupId(gid); err == nil {
		return g.Name
	}
	return gid
}
