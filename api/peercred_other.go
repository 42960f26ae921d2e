//go:build !linux

package api

import (
	"errors"
	"net"
)

// peerCred is Linux-only; elsewhere the access log shows no peer.
func peerCred(*net.UnixConn) (Peer, error) {
	return Peer{}, errors.New("peer credentials are not supported on this system")
}
