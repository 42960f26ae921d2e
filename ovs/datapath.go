package ovs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-logr/logr"
	"github.com/ovn-kubernetes/libovsdb/cache"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/internal/dbconn"
	"github.com/quantum-agent/quantum-agent/internal/guard"
	"github.com/quantum-agent/quantum-agent/ovs/vswitch"
)

// External_ids keys the datapath reads and writes.
const (
	ownerKey     = "quantum-agent-owner"
	ifaceIDKey   = "iface-id"
	macKey       = "attached-mac"
	vmKey        = "vm-uuid"
	ifaceStatKey = "iface-status"
	portIDKey    = "quantum-port-id"
	networkKey   = "quantum-network-id"
	dbIDKey      = "quantum-db-id"
)

// Datapath types of a bridge.
const (
	DatapathSystem = "system"
	DatapathNetdev = "netdev"
)

// Config says which Open_vSwitch database and bridge to drive.
type Config struct {
	OVSDB        string // endpoint, e.g. unix:/run/openvswitch/db.sock
	Bridge       string // integration bridge; default br-int
	DatapathType string // for a bridge we create: system (default) or netdev
	Host         string // value of the ownership marker; required
	// LibLogger is the logger of libovsdb itself, as in agent.StoreConfig:
	// it logs every transaction at debug, so it gets its own handler (and
	// level, which may change while the datapath runs) from the caller.
	// Nil: New's logger, at warn and above.
	LibLogger *slog.Logger
	// BridgeMappings maps a physical network to the operator's bridge
	// holding its uplink (--bridge-mappings physnet1:br-phys): see
	// physnet.go. Empty: VLANs stay on the integration bridge.
	BridgeMappings map[string]string
	// VXLANLocalIP is this host's VTEP (--vxlan-local-ip), the local_ip of
	// its tunnel ports: an address on an OVS internal port of a netdev
	// bridge (docs/datapaths.md). Invalid: vxlan networks are refused.
	VXLANLocalIP netip.Addr
	// QuantumDBID identifies the Quantum DB the agent wires from (its
	// Global row's UUID). Ports carry it; an owned port marked with another
	// DB's id is never garbage-collected: an agent pointed at the wrong or a
	// freshly re-created DB must not unplug every VM on the host. Empty:
	// no such check (tests of the datapath alone).
	QuantumDBID string
	// Panics counts panics recovered in calls into libovsdb (nil: none).
	Panics *guard.Panics
}

// Datapath wires ports into an OVS integration bridge.
type Datapath struct {
	cfg     Config
	log     *slog.Logger
	client  client.Client
	conn    *dbconn.Conn // probes, fails fast; every transaction goes through it
	changes chan struct{}

	syncMu sync.Mutex // one Sync at a time
	stop   chan struct{}
	wg     sync.WaitGroup
	closed atomic.Bool

	transactions atomic.Int64 // Transact calls made, for tests
	otherDBPorts atomic.Int64 // owned ports left alone: wired from another Quantum DB
	logOff       *atomic.Bool // silences libovsdb's log after Close
}

var _ agent.Datapath = (*Datapath)(nil)

// reconnectPoll is how often the datapath checks whether the client has
// reconnected (libovsdb has no reconnect callback).
const reconnectPoll = 500 * time.Millisecond

// New validates cfg and builds a Datapath; it does not connect (see Start).
func New(cfg Config, log *slog.Logger) (*Datapath, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Bridge == "" {
		cfg.Bridge = "br-int"
	}
	if cfg.DatapathType == "" {
		cfg.DatapathType = DatapathSystem
	}
	switch {
	case cfg.OVSDB == "":
		return nil, errors.New("ovs datapath: no Open_vSwitch database endpoint configured")
	case cfg.Host == "":
		return nil, errors.New("ovs datapath: no host name configured (ownership marker)")
	case cfg.DatapathType != DatapathSystem && cfg.DatapathType != DatapathNetdev:
		return nil, fmt.Errorf("ovs datapath: datapath type %q is neither %q nor %q",
			cfg.DatapathType, DatapathSystem, DatapathNetdev)
	}
	if err := validateMappings(cfg.BridgeMappings, cfg.Bridge); err != nil {
		return nil, err
	}
	dbModel, err := vswitch.FullDatabaseModel()
	if err != nil {
		return nil, fmt.Errorf("ovs datapath: build Open_vSwitch model: %w", err)
	}
	clientHandler := newLibHandler(cfg.LibLogger, log)
	clientLog := logr.FromSlogHandler(clientHandler)
	bo := backoff.NewExponentialBackOff()
	bo.MaxInterval = 5 * time.Second
	bo.MaxElapsedTime = 0 // retry for as long as the agent runs
	c, err := client.NewOVSDBClient(dbModel,
		client.WithEndpoint(cfg.OVSDB),
		client.WithReconnect(10*time.Second, bo),
		client.WithLogger(&clientLog),
	)
	if err != nil {
		return nil, fmt.Errorf("ovs datapath: client for %s: %w", cfg.OVSDB, err)
	}
	dlog := log.With("datapath", "ovs", "bridge", cfg.Bridge)
	return &Datapath{
		cfg:    cfg,
		log:    dlog,
		client: c,
		conn: dbconn.New(c, dbconn.Config{Name: "open_vswitch", Endpoints: []string{cfg.OVSDB},
			Log: dlog, Panics: cfg.Panics}),
		changes: make(chan struct{}, 1),
		stop:    make(chan struct{}),
		logOff:  clientHandler.off,
	}, nil
}

// Start connects, monitors the tables the datapath needs and ensures the
// integration bridge exists. It returns once the cache holds the database.
func (d *Datapath) Start(ctx context.Context) error {
	if err := d.conn.Connect(ctx); err != nil {
		return fmt.Errorf("connect to Open_vSwitch database %s: %w", d.cfg.OVSDB, err)
	}
	d.client.Cache().AddEventHandler(&cache.EventHandlerFuncs{
		AddFunc:    func(string, model.Model) { d.signal() },
		UpdateFunc: func(string, model.Model, model.Model) { d.signal() },
		DeleteFunc: func(string, model.Model) { d.signal() },
	})
	err := guard.Call(d.log, d.cfg.Panics, "open_vswitch monitor", func() error {
		_, err := d.client.Monitor(ctx, d.newMonitor())
		return err
	})
	if err != nil {
		return fmt.Errorf("monitor Open_vSwitch database %s: %w", d.cfg.OVSDB, err)
	}
	if err := d.ensureBridge(ctx); err != nil {
		return err
	}
	d.warnTSO()
	d.conn.Start()
	d.wg.Add(1)
	go d.watchConnection()
	return nil
}

// newMonitor asks only for the columns the datapath reads, so that the
// statistics vswitchd rewrites every few seconds cause no traffic or wakeups.
func (d *Datapath) newMonitor() *client.Monitor {
	var (
		ovs   vswitch.OpenvSwitch
		br    vswitch.Bridge
		port  vswitch.Port
		iface vswitch.Interface
	)
	return d.client.NewMonitor(
		client.WithTable(&ovs, &ovs.Bridges, &ovs.OtherConfig),
		client.WithTable(&br, &br.Name, &br.Ports, &br.DatapathType, &br.ExternalIDs),
		client.WithTable(&port, &port.Name, &port.Interfaces, &port.Tag, &port.VLANMode, &port.Trunks, &port.Protected, &port.ExternalIDs),
		client.WithTable(&iface, &iface.Name, &iface.Type, &iface.ExternalIDs,
			&iface.Ofport, &iface.Error, &iface.LinkState, &iface.Options, &iface.Status),
	)
}

// Changes signals that the bridge, its ports or interfaces may have changed,
// or that the database connection came back.
func (d *Datapath) Changes() <-chan struct{} { return d.changes }

func (d *Datapath) signal() {
	select {
	case d.changes <- struct{}{}:
	default:
	}
}

// watchConnection signals Changes when the client has reconnected, since
// the database may have changed while it was away.
func (d *Datapath) watchConnection() {
	defer d.wg.Done()
	t := time.NewTicker(reconnectPoll)
	defer t.Stop()
	was := true
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		now := d.Connected()
		switch {
		case now && !was:
			d.log.Info("reconnected to Open_vSwitch database", "endpoint", d.cfg.OVSDB)
			d.signal()
		case !now && was:
			d.log.Warn("lost Open_vSwitch database connection, reconnecting", "endpoint", d.cfg.OVSDB)
		}
		was = now
	}
}

// Ready returns nil when the database is connected and the integration bridge
// exists with a working datapath, else why not.
func (d *Datapath) Ready() error {
	if !d.Connected() {
		return fmt.Errorf("Open_vSwitch database %s: %s", d.cfg.OVSDB, d.Health())
	}
	snap, err := d.snapshot(context.Background())
	if err != nil {
		return err
	}
	if err := snap.bridgeProblem(d.cfg.Bridge); err != nil {
		return err
	}
	return d.physnetProblem(snap)
}

// Close stops watching and closes the database connection; it unwires
// nothing.
func (d *Datapath) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	close(d.stop)
	d.wg.Wait()
	d.conn.Close()
	d.conn.Wait()
	// libovsdb v0.8.1 ignores Close while it is reconnecting and keeps
	// retrying in the background; at least keep it quiet.
	d.logOff.Store(true)
	d.client.Close()
	return nil
}

// libHandler is libovsdb's log handler. It goes silent once off is set
// (Close); with min set (the default logger only) it passes on only records
// at or above min, as libovsdb logs every transaction at debug.
type libHandler struct {
	slog.Handler
	min slog.Leveler // nil: the handler's own level decides
	off *atomic.Bool
}

// newLibHandler is the handler of lib (Config.LibLogger) or, when lib is
// nil, of log at warn and above.
func newLibHandler(lib, log *slog.Logger) *libHandler {
	if lib != nil {
		return &libHandler{Handler: lib.Handler(), off: &atomic.Bool{}}
	}
	return &libHandler{Handler: log.With("component", "libovsdb").Handler(), min: slog.LevelWarn, off: &atomic.Bool{}}
}

func (h *libHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return (h.min == nil || l >= h.min.Level()) && !h.off.Load() && h.Handler.Enabled(ctx, l)
}

func (h *libHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.off.Load() {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h *libHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &libHandler{Handler: h.Handler.WithAttrs(as), min: h.min, off: h.off}
}

func (h *libHandler) WithGroup(name string) slog.Handler {
	return &libHandler{Handler: h.Handler.WithGroup(name), min: h.min, off: h.off}
}
