package api

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Listen opens the API's Unix socket at path. The file mode is the access
// control (there is no other auth), so the socket is made and given its
// mode and group under a temporary name, then renamed into place: no
// client ever sees it with the process umask's permissions.
//
// A socket file left by a dead agent is replaced; one a live process
// answers on is refused, so two agents never steal each other's clients.
// group "" leaves the group as created.
func Listen(path string, mode os.FileMode, group string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create socket directory: %w", err)
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	gid := -1
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return nil, fmt.Errorf("socket group %q: %w", group, err)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return nil, fmt.Errorf("socket group %q: gid %q: %w", group, g.Gid, err)
		}
	}

	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	_ = os.Remove(tmp) // a leftover of this pid's predecessor
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false) // the file moves; unixListener removes it
	if err := prepareSocket(tmp, path, mode, gid); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	return &unixListener{UnixListener: ln, path: path}, nil
}

func prepareSocket(tmp, path string, mode os.FileMode, gid int) error {
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("chmod socket %s: %w", path, err)
	}
	if gid >= 0 {
		if err := os.Chown(tmp, -1, gid); err != nil {
			return fmt.Errorf("chown socket %s to gid %d: %w", path, gid, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("move socket into place at %s: %w", path, err)
	}
	return nil
}

// removeStaleSocket removes path if it is a socket nobody answers on. A
// file that is not a socket is never removed: it is not ours.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check socket %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket; refusing to replace it", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("socket %s is in use by a live process (another agent running?)", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("check socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}

// unixListener removes the socket file on Close, as net's own listener
// would had it not been renamed.
type unixListener struct {
	*net.UnixListener
	path string
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	if rerr := os.Remove(l.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}
