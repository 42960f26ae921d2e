package testbed

import (
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ethtool ioctl (linux/ethtool.h): set TX checksumming.
const ethtoolSetTXCsum = 0x00000017 // ETHTOOL_STXCSUM

// ethtoolValue is struct ethtool_value.
type ethtoolValue struct{ cmd, data uint32 }

// ifreqPtr is struct ifreq with its union holding a pointer (ifr_data).
type ifreqPtr struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [16]byte // the rest of the union
}

// DisableTXChecksum turns TX checksum offload (and with it TSO) off on the
// VM's eth0, as `ethtool -K eth0 tx off` would, through the ioctl: not every
// image has the ethtool binary. OVS 3.1's userspace tunnelling drops
// packets that carry offload flags ("Tunneling packets with HW offload
// flags is not supported"), so TCP between VMs on VXLAN moves nothing
// without it; the kernel datapath of a real host has no such limit.
func (vm *VM) DisableTXChecksum(t testing.TB) {
	t.Helper()
	err := InNetNS(vm.NetNS, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		val := ethtoolValue{cmd: ethtoolSetTXCsum, data: 0}
		var ifr ifreqPtr
		copy(ifr.name[:], "eth0")
		ifr.data = unsafe.Pointer(&val)
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
		runtime.KeepAlive(&val)
		if errno != 0 {
			return fmt.Errorf("SIOCETHTOOL ETHTOOL_STXCSUM on eth0: %w", errno)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("testbed: TX checksum offload off in %s: %v", vm, err)
	}
}
