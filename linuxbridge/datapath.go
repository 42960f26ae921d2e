package linuxbridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/internal/guard"
)

// Config says how the datapath carries networks off the host.
type Config struct {
	Host string // value of the ownership marker; required
	// QuantumDBID identifies the Quantum DB the agent wires from (its
	// Global row's UUID). The links the datapath makes carry it in their
	// ownership marker; owned links marked with another DB's id (and the
	// taps on such bridges) are never deleted or released: an agent pointed
	// at the wrong or a freshly re-created DB must not unplug every VM on
	// the host. Links marked without an id (older agents) are this DB's.
	// Empty: no such check (tests of the datapath alone).
	QuantumDBID string
	// InterfaceMappings maps physical networks to NICs (Neutron's
	// physical_interface_mappings): flat networks enslave the NIC, VLAN
	// networks a VLAN sub-interface of it.
	InterfaceMappings map[string]string
	// VXLANLocalIP is this host's VTEP address; without it VXLAN networks
	// are FAILED.
	VXLANLocalIP netip.Addr
	VXLANPort    int // UDP port; default DefaultVXLANPort
	MTU          int // of vlan, flat and local networks; default DefaultMTU
	VXLANMTU     int // of vxlan networks; default DefaultVXLANMTU
	// NetNS is the path of the network namespace to work in (tests drive
	// throwaway hypervisor namespaces with it); empty: the process's own.
	NetNS string
	// Panics counts panics recovered in calls into netlink (nil: none).
	Panics *guard.Panics
}

// Datapath wires ports into per-network Linux bridges over netlink.
type Datapath struct {
	cfg     Config
	alias   string
	log     *slog.Logger
	ns      netns.NsHandle // the namespace worked in; closed by Close
	h       *netlink.Handle
	changes chan struct{}

	syncMu  sync.Mutex     // one Sync at a time
	indexes map[string]int // device -> ifindex at the last Sync (under syncMu)

	watchMu sync.Mutex
	watched watchSet // what link events are worth a Sync

	stop      chan struct{}
	wg        sync.WaitGroup
	started   atomic.Bool
	closed    atomic.Bool
	watchErr  atomic.Pointer[error] // why link events are not being received
	netlinkOp atomic.Int64          // state-changing netlink requests, for tests

	otherDBLinks atomic.Int64 // owned bridges and uplinks of another Quantum DB left in place, at the last Sync
	otherDBTaps  atomic.Int64 // taps on such bridges this DB does not want, left on them
}

var _ agent.Datapath = (*Datapath)(nil)

// New validates cfg and opens a netlink handle in its namespace.
func New(cfg Config, log *slog.Logger) (*Datapath, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Host == "" {
		return nil, errors.New("linuxbridge datapath: no host name configured (ownership marker)")
	}
	if strings.Contains(cfg.QuantumDBID, ":") || len(ownerAlias(cfg.Host, cfg.QuantumDBID)) > maxAlias {
		return nil, fmt.Errorf("linuxbridge datapath: host %q and Quantum DB id %q make no ownership marker (no colon in the id, at most %d bytes in all)", cfg.Host, cfg.QuantumDBID, maxAlias)
	}
	if cfg.VXLANPort == 0 {
		cfg.VXLANPort = DefaultVXLANPort
	}
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if cfg.VXLANMTU == 0 {
		cfg.VXLANMTU = DefaultVXLANMTU
	}
	for physnet, nic := range cfg.InterfaceMappings {
		if nic == "" || len(nic) > maxLinkName {
			return nil, fmt.Errorf("linuxbridge datapath: interface %q of physical network %s is not a link name", nic, physnet)
		}
	}
	if cfg.VXLANLocalIP.IsValid() && !cfg.VXLANLocalIP.Is4() {
		return nil, fmt.Errorf("linuxbridge datapath: VXLAN local address %s is not IPv4", cfg.VXLANLocalIP)
	}
	ns, err := openNetNS(cfg.NetNS)
	if err != nil {
		return nil, err
	}
	h, err := newHandle(ns)
	if err != nil {
		closeNetNS(ns)
		return nil, fmt.Errorf("linuxbridge datapath: open netlink handle in %s: %w", nsName(cfg.NetNS), err)
	}
	return &Datapath{
		cfg:     cfg,
		alias:   ownerAlias(cfg.Host, cfg.QuantumDBID),
		log:     log.With("datapath", "linuxbridge"),
		ns:      ns,
		h:       h,
		changes: make(chan struct{}, 1),
		indexes: map[string]int{},
		stop:    make(chan struct{}),
	}, nil
}

// openNetNS opens the namespace at path; for the process's own it returns
// netns.None(), which makes the netlink library open its sockets where it
// runs, without setns(2): that needs CAP_SYS_ADMIN even into one's own
// namespace, and the systemd unit forbids it (RestrictNamespaces=yes).
func openNetNS(path string) (netns.NsHandle, error) {
	if path == "" {
		return netns.None(), nil
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return netns.None(), fmt.Errorf("linuxbridge datapath: open network namespace %s: %w", nsName(path), err)
	}
	return ns, nil
}

func newHandle(ns netns.NsHandle) (*netlink.Handle, error) {
	if !ns.IsOpen() {
		return netlink.NewHandle()
	}
	return netlink.NewHandleAt(ns)
}

func closeNetNS(ns netns.NsHandle) error {
	if !ns.IsOpen() {
		return nil
	}
	return ns.Close()
}

func nsName(path string) string {
	if path == "" {
		return "of the process"
	}
	return path
}

// Start checks that netlink answers and starts watching link events. It
// changes nothing: the first Sync adopts what the kernel already holds.
func (d *Datapath) Start(ctx context.Context) error {
	if d.closed.Load() {
		return errors.New("linuxbridge datapath: closed")
	}
	if _, err := listLinks(d.h); err != nil {
		return fmt.Errorf("linuxbridge datapath: read links: %w", err)
	}
	if d.started.Swap(true) {
		return nil
	}
	d.wg.Add(1)
	go d.watch()
	return ctx.Err()
}

// Changes signals that links this datapath cares about changed, or that
// link events may have been missed.
func (d *Datapath) Changes() <-chan struct{} { return d.changes }

func (d *Datapath) signal() {
	select {
	case d.changes <- struct{}{}:
	default:
	}
}

// Ready returns nil when the datapath was started and hears link events
// (without them drift is only healed by the periodic resync), else why not.
func (d *Datapath) Ready() error {
	switch {
	case d.closed.Load():
		return errors.New("linuxbridge datapath closed")
	case !d.started.Load():
		return errors.New("linuxbridge datapath not started")
	}
	if p := d.watchErr.Load(); p != nil {
		return fmt.Errorf("not receiving link events: %w", *p)
	}
	return nil
}

// Close stops watching and releases the netlink handle; it unwires nothing.
func (d *Datapath) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	close(d.stop)
	d.wg.Wait()
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	d.h.Close()
	return closeNetNS(d.ns)
}

// resubscribeWait is how long the watcher waits before subscribing again
// after its subscription failed.
const resubscribeWait = time.Second

// watch subscribes to link events in the datapath's namespace and turns the
// relevant ones into Changes, subscribing again whenever the subscription
// ends (e.g. its socket overflowed in an event storm): events may have been
// lost then, so that is signalled too.
func (d *Datapath) watch() {
	defer d.wg.Done()
	for {
		err := guard.Call(d.log, d.cfg.Panics, "linuxbridge link events", d.subscribeOnce)
		if err == nil {
			return // stopped
		}
		d.watchErr.Store(&err)
		d.log.Warn("link event subscription ended; subscribing again", "err", err, "retry_in", resubscribeWait)
		select {
		case <-d.stop:
			return
		case <-time.After(resubscribeWait):
		}
	}
}

// subscribeOnce runs one subscription until it fails (returning why) or
// the datapath stops (returning nil).
func (d *Datapath) subscribeOnce() error {
	ch := make(chan netlink.LinkUpdate, 256)
	done := make(chan struct{})
	var lastErr atomic.Pointer[error]
	ns := d.ns
	err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{
		Namespace:     &ns,
		ErrorCallback: func(err error) { lastErr.Store(&err) },
		// Wiring a thousand ports makes thousands of events at once.
		ReceiveBufferSize:      8 << 20,
		ReceiveBufferForceSize: true,
	})
	if err != nil {
		return fmt.Errorf("subscribe to link events: %w", err)
	}
	defer func() {
		close(done) // closes the socket, which ends the library's reader
		for range ch {
		}
	}()
	d.watchErr.Store(nil)
	d.signal() // whatever happened before this subscription is unseen
	for {
		select {
		case <-d.stop:
			return nil
		case u, ok := <-ch:
			if !ok {
				if p := lastErr.Load(); p != nil {
					return *p
				}
				return errors.New("link event subscription closed")
			}
			if d.relevant(u) {
				d.signal()
			}
		}
	}
}
