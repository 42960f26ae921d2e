package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
)

// config is every setting of the daemon (DESIGN.md §3). Each is a flag and
// a key of the configuration file (see configfile.go).
type config struct {
	Socket            string
	SocketGroup       string
	SocketMode        uint
	Datapath          string
	QuantumDB         []string
	QuantumDBLeader   bool // --quantum-db-leader-only
	OVSDB             string
	IntegrationBridge string
	OVSDatapathType   string
	VLANRanges        []agent.VLANRange
	BridgeMappings    map[string]string
	InterfaceMappings map[string]string
	VXLANLocalIP      netip.Addr // this host's VTEP (both datapaths); invalid when unset
	UnderlayMTU       int        // the same on every agent of a cloud: networks show their MTU from it
	Host              string
	MetricsListen     string
	ConfigFile        string
	LogLevel          slog.Level
	LibovsdbLogLevel  slog.Level
	Resync            time.Duration
	RequestTimeout    time.Duration
	ShutdownTimeout   time.Duration
	Version           bool

	// values is each setting's final text by file key (flag name with
	// underscores), flags and file merged: what SIGHUP compares.
	values map[string]string
}

// singleDashFlag is a flag name as the flag package writes it in errors
// ("-socket-mode"); the help and the man page write it "--socket-mode".
var singleDashFlag = regexp.MustCompile(`(^|\s)-([a-z][a-z0-9-]*)`)

// flagText is the text of the flags that are parsed into typed settings
// once the file is read (validate).
type flagText struct {
	quantumDB, vlanRanges, bridgeMappings, ifaceMappings string
	logLevel, libLevel, vxlanLocalIP                     string
}

// parseConfig parses and validates the command line and, when --config
// names one, the configuration file; flags override the file. Every value
// is checked even when the code that uses it is not written yet, so a bad
// value fails at start, never later. Errors name the flag, or the key and
// the file the value came from.
func parseConfig(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("quantum-agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // -h prints the usage below; errors are returned, once
	var c config
	var text flagText
	declareFlags(fs, &c, &text)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stderr, fs)
			return nil, err
		}
		return nil, fmt.Errorf("%s (quantum-agent -h lists the options)", singleDashFlag.ReplaceAllString(err.Error(), "$1--$2"))
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.Version {
		return &c, nil
	}
	from := map[string]string{} // flag name -> where its value came from, for messages
	if c.ConfigFile != "" {
		set, err := loadConfigFile(fs, c.ConfigFile)
		if err != nil {
			return nil, err
		}
		for _, name := range set {
			from[name] = fmt.Sprintf("%s (in %s)", fileKey(name), c.ConfigFile)
		}
	}
	c.values = settingValues(fs)
	src := func(name string) string {
		if f, ok := from[name]; ok {
			return f
		}
		return "--" + name
	}
	return &c, c.validate(text, src)
}

// declareFlags declares every setting on fs, into c or, for those parsed
// later, into text.
func declareFlags(fs *flag.FlagSet, c *config, text *flagText) {
	fs.StringVar(&c.Socket, "socket", "/run/quantum/quantum.sock", "Unix socket `path` the API is served on (unused under socket activation)")
	fs.StringVar(&c.SocketGroup, "socket-group", "", "`group` that owns the API socket (empty: the agent's own)")
	c.SocketMode = 0o660
	fs.Var((*modeValue)(&c.SocketMode), "socket-mode", "file `mode` of the API socket, in octal")
	fs.StringVar(&c.Datapath, "datapath", "ovs", "`datapath`: ovs or linuxbridge")
	fs.StringVar(&text.quantumDB, "quantum-db", "unix:/run/quantum/db.sock", "Quantum DB `remotes`, comma-separated (several for a Raft cluster)")
	fs.BoolVar(&c.QuantumDBLeader, "quantum-db-leader-only", true, "talk only to the Raft leader among the --quantum-db remotes; false when they are relays (or followers): reads and monitors then stay where the agent connects, writes are forwarded to the leader")
	fs.StringVar(&c.OVSDB, "ovs-db", "unix:/run/openvswitch/db.sock", "Open_vSwitch database `remote`")
	fs.StringVar(&c.IntegrationBridge, "integration-bridge", "br-int", "OVS integration `bridge`")
	fs.StringVar(&c.OVSDatapathType, "ovs-datapath-type", "system", "datapath `type` of an integration bridge the agent creates: system or netdev")
	fs.StringVar(&text.vlanRanges, "network-vlan-ranges", "physnet1:100:199", "VLAN pools, `PHYSNET:MIN:MAX[,...]` (Neutron's network_vlan_ranges)")
	fs.StringVar(&text.bridgeMappings, "bridge-mappings", "", "OVS physical bridges, `PHYSNET:BRIDGE[,...]`")
	fs.StringVar(&text.ifaceMappings, "interface-mappings", "", "Linux bridge uplinks, `PHYSNET:INTERFACE[,...]`")
	fs.StringVar(&text.vxlanLocalIP, "vxlan-local-ip", "", "this host's VXLAN tunnel endpoint, an IPv4 `address` on the underlay (ovs: on an OVS internal port of a netdev bridge; empty: no vxlan networks)")
	fs.IntVar(&c.UnderlayMTU, "underlay-mtu", agent.DefaultUnderlayMTU, "IP `MTU` of the network between the hosts, the same on every agent of a cloud: networks show it as their mtu (vxlan 50 bytes less) for the compute driver to set in the guest")
	fs.StringVar(&c.Host, "host", "", "this hypervisor's `name` (default: the hostname)")
	fs.StringVar(&c.MetricsListen, "metrics-listen", "127.0.0.1:9697", "`address` for /metrics, /healthz, /readyz (empty: off)")
	fs.StringVar(&c.ConfigFile, "config", "", "TOML configuration `file` (keys: the flag names with _ for -); flags override it; read again on SIGHUP")
	fs.StringVar(&text.logLevel, "log-level", "info", "log `level`: debug, info, warn, error")
	fs.StringVar(&text.libLevel, "libovsdb-log-level", "warn", "log `level` for the OVSDB client library")
	durationFlag(fs, &c.Resync, "resync-interval", 30*time.Second, "`duration` between full reconcile passes")
	durationFlag(fs, &c.RequestTimeout, "request-timeout", 10*time.Second, "`duration` one API request may take")
	durationFlag(fs, &c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "`duration` SIGTERM waits for requests in flight")
	fs.BoolVar(&c.Version, "version", false, "print the version and exit")
}

// validate parses text into c and checks every setting, returning all the
// problems at once; src names where a flag's value came from.
func (c *config) validate(text flagText, src func(name string) string) error {
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	check(oneOf(src("datapath"), c.Datapath, "ovs", "linuxbridge"))
	check(oneOf(src("ovs-datapath-type"), c.OVSDatapathType, "system", "netdev"))
	var err error
	c.QuantumDB, err = parseEndpoints(src("quantum-db"), text.quantumDB)
	check(err)
	_, err = parseEndpoints(src("ovs-db"), c.OVSDB)
	check(err)
	c.VLANRanges, err = agent.ParseVLANRanges(text.vlanRanges)
	check(prefix(src("network-vlan-ranges"), err))
	c.BridgeMappings, err = parseMappings(src("bridge-mappings"), text.bridgeMappings)
	check(err)
	c.InterfaceMappings, err = parseMappings(src("interface-mappings"), text.ifaceMappings)
	check(err)
	if text.vxlanLocalIP != "" {
		if c.VXLANLocalIP, err = netip.ParseAddr(text.vxlanLocalIP); err != nil || !c.VXLANLocalIP.Is4() {
			check(fmt.Errorf("%s %q: want an IPv4 address", src("vxlan-local-ip"), text.vxlanLocalIP))
		}
	}
	check(prefix(src("underlay-mtu"), agent.CheckUnderlayMTU(c.UnderlayMTU)))
	if c.IntegrationBridge == "" || len(c.IntegrationBridge) > 15 {
		check(fmt.Errorf("%s %q: must be 1 to 15 characters", src("integration-bridge"), c.IntegrationBridge))
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			check(fmt.Errorf("%s %q: %w", src("metrics-listen"), c.MetricsListen, err))
		}
	}
	check(prefix(src("log-level"), c.LogLevel.UnmarshalText([]byte(text.logLevel))))
	check(prefix(src("libovsdb-log-level"), c.LibovsdbLogLevel.UnmarshalText([]byte(text.libLevel))))
	if c.Host == "" {
		c.Host, err = os.Hostname()
		check(prefix(src("host")+" (from the hostname)", err))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"resync-interval", c.Resync}, {"request-timeout", c.RequestTimeout}, {"shutdown-timeout", c.ShutdownTimeout}} {
		if d.v <= 0 {
			check(fmt.Errorf("%s must be positive, not %s", src(d.name), d.v))
		}
	}
	return errors.Join(errs...)
}

func prefix(name string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func oneOf(name, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%s %q: must be one of %s", name, v, strings.Join(allowed, ", "))
}

// parseEndpoints splits and checks OVSDB remotes: unix:PATH, tcp:HOST:PORT
// or ssl:HOST:PORT.
func parseEndpoints(name, s string) ([]string, error) {
	var out []string
	for _, ep := range strings.Split(s, ",") {
		ep = strings.TrimSpace(ep)
		if ep == "" {
			continue
		}
		kind, rest, ok := strings.Cut(ep, ":")
		switch {
		case !ok || rest == "":
			return nil, fmt.Errorf("%s %q: want unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT", name, ep)
		case kind == "unix":
		case kind == "tcp" || kind == "ssl":
			if _, _, err := net.SplitHostPort(rest); err != nil {
				return nil, fmt.Errorf("%s %q: %w", name, ep, err)
			}
		default:
			return nil, fmt.Errorf("%s %q: unknown kind %q (want unix, tcp or ssl)", name, ep, kind)
		}
		out = append(out, ep)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no endpoint given", name)
	}
	return out, nil
}

// parseMappings parses "physnet1:br-phys,physnet2:br-two".
func parseMappings(name, s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, ":")
		if !ok || k == "" || v == "" || len(v) > 15 {
			return nil, fmt.Errorf("%s %q: want PHYSNET:DEVICE with a device name of at most 15 characters", name, item)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s: physical network %q mapped twice", name, k)
		}
		out[k] = v
	}
	return out, nil
}
