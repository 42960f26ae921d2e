package main

import (
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeConf(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "agent.conf")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigFileSetsEveryKind checks every kind of value a file may hold,
// and that flags override it.
func TestConfigFileSetsEveryKind(t *testing.T) {
	p := writeConf(t, `
# quantum-agent configuration
socket = "/run/q/q.sock"
socket_mode = 0o640
quantum_db = ["tcp:198.18.0.1:6641", "tcp:198.18.0.2:6641", "tcp:198.18.0.3:6641"]
network_vlan_ranges = "physnet1:100:109,physnet2"
bridge_mappings = "physnet1:br-phys"
integration_bridge = "br-file"
log_level = "debug"
resync_interval = "1m"
host = "hv-file"
metrics_listen = ""
`)
	c, err := parseConfig([]string{"--config", p, "--integration-bridge", "br-flag"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := config{Socket: "/run/q/q.sock", SocketMode: 0o640,
		QuantumDB:         []string{"tcp:198.18.0.1:6641", "tcp:198.18.0.2:6641", "tcp:198.18.0.3:6641"},
		IntegrationBridge: "br-flag", LogLevel: slog.LevelDebug, Resync: time.Minute, Host: "hv-file",
		BridgeMappings: map[string]string{"physnet1": "br-phys"}}
	got := config{Socket: c.Socket, SocketMode: c.SocketMode, QuantumDB: c.QuantumDB, IntegrationBridge: c.IntegrationBridge,
		LogLevel: c.LogLevel, Resync: c.Resync, Host: c.Host, BridgeMappings: c.BridgeMappings}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if c.MetricsListen != "" || len(c.VLANRanges) != 2 {
		t.Errorf("metrics_listen %q, vlan ranges %v", c.MetricsListen, c.VLANRanges)
	}
	if c.values["integration_bridge"] != "br-flag" || c.values["socket_mode"] != "0640" {
		t.Errorf("values: %v", c.values)
	}
}

// TestConfigFileKeysAreTheFlags keeps the key set derived from the flags:
// every flag but --config and --version is a key.
func TestConfigFileKeysAreTheFlags(t *testing.T) {
	c, err := parseConfig([]string{"--host", "h"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"socket", "socket_group", "socket_mode", "datapath", "quantum_db", "quantum_db_leader_only", "ovs_db",
		"integration_bridge", "ovs_datapath_type", "network_vlan_ranges", "bridge_mappings", "interface_mappings",
		"underlay_mtu", "host", "metrics_listen", "log_level", "libovsdb_log_level", "resync_interval", "request_timeout", "shutdown_timeout"} {
		if _, ok := c.values[key]; !ok {
			t.Errorf("key %s missing", key)
		}
	}
	for _, key := range []string{"config", "version"} {
		if _, ok := c.values[key]; ok {
			t.Errorf("key %s must not be settable in the file", key)
		}
	}
}

// TestConfigFileErrorsNameKeyAndFile checks refusals at start.
func TestConfigFileErrorsNameKeyAndFile(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []string
	}{
		{"unknown key", "sokcet = \"/x\"\n", []string{`unknown key "sokcet"`}},
		{"flag spelling", "integration-bridge = \"br\"\n", []string{`unknown key "integration-bridge"`, "did you mean integration_bridge?"}},
		{"bad duration", "resync_interval = 30\n", []string{"key resync_interval", `"30"`}},
		{"bad enum", "datapath = \"vpp\"\n", []string{"datapath (in ", `"vpp"`, "ovs, linuxbridge"}},
		{"bad ranges", "network_vlan_ranges = \"physnet1:1:5000\"\n", []string{"network_vlan_ranges (in "}},
		{"table", "[ovs]\nbridge = \"x\"\n", []string{`unknown key "ovs"`}},
		{"table of a key", "[datapath]\ntype = \"ovs\"\n", []string{"key datapath", "top level"}},
		{"not toml", "socket = \n", []string{"config file"}},
		{"float", "socket_mode = 1.5\n", []string{"key socket_mode", "float64"}},
		{"config in file", "config = \"/etc/other\"\n", []string{`unknown key "config"`}},
		{"mtu too small", "underlay_mtu = 100\n", []string{"underlay_mtu (in ", "100 is not an MTU from 576 to 65535"}},
		{"mtu not a number", "underlay_mtu = \"jumbo\"\n", []string{"key underlay_mtu", `"jumbo"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeConf(t, c.text)
			_, err := parseConfig([]string{"--config", p, "--host", "h"}, io.Discard)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range append(c.want, p) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if _, err := parseConfig([]string{"--config", "/nonexistent/agent.conf"}, io.Discard); err == nil || !strings.Contains(err.Error(), "/nonexistent/agent.conf") {
		t.Errorf("missing file: %v", err)
	}
}

// TestUnderlayMTU: 1500 unless told, from a flag or the file; a value out
// of bounds from the command line names the flag.
func TestUnderlayMTU(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--host", "h"}, 1500},
		{[]string{"--host", "h", "--underlay-mtu", "9000"}, 9000},
		{[]string{"--host", "h", "--config", writeConf(t, "underlay_mtu = 1600\n")}, 1600},
		{[]string{"--host", "h", "--config", writeConf(t, "underlay_mtu = 1600\n"), "--underlay-mtu", "9000"}, 9000},
	} {
		c, err := parseConfig(tc.args, io.Discard)
		if err != nil || c.UnderlayMTU != tc.want {
			t.Errorf("%v: %v, underlay MTU %d, want %d", tc.args, err, c.UnderlayMTU, tc.want)
		}
	}
	_, err := parseConfig([]string{"--host", "h", "--underlay-mtu", "70000"}, io.Discard)
	if want := "--underlay-mtu: 70000 is not an MTU from 576 to 65535"; err == nil || err.Error() != want {
		t.Errorf("--underlay-mtu 70000: %v, want %q", err, want)
	}
}

// TestFlagErrorsNameTheFlag checks that values from flags keep flag names in
// their errors.
func TestFlagErrorsNameTheFlag(t *testing.T) {
	_, err := parseConfig([]string{"--datapath", "vpp", "--resync-interval", "-1s", "--host", "h"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--datapath") || !strings.Contains(err.Error(), "--resync-interval") {
		t.Errorf("error %v", err)
	}
	if _, err := parseConfig([]string{"--help"}, io.Discard); err != flag.ErrHelp {
		t.Errorf("--help: %v", err)
	}
}

// TestShippedConfigParses reads the packaged /etc/quantum-agent/agent.conf
// as shipped (all commented: defaults) and with every example key
// uncommented: each example must be a value the agent accepts.
func TestShippedConfigParses(t *testing.T) {
	raw, err := os.ReadFile("../../packaging/agent.conf")
	if os.IsNotExist(err) {
		t.Skip("no packaging/agent.conf")
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseConfig([]string{"--config", writeConf(t, string(raw))}, io.Discard); err != nil {
		t.Errorf("shipped config: %v", err)
	}
	var lines []string
	keys := 0
	for _, l := range strings.Split(string(raw), "\n") {
		if k, _, ok := strings.Cut(strings.TrimPrefix(l, "# "), " = "); ok && strings.HasPrefix(l, "# ") && isKey(k) {
			l = strings.TrimPrefix(l, "# ")
			keys++
		}
		lines = append(lines, l)
	}
	if keys < 18 {
		t.Errorf("found only %d example keys", keys)
	}
	if _, err := parseConfig([]string{"--config", writeConf(t, strings.Join(lines, "\n"))}, io.Discard); err != nil {
		t.Errorf("shipped config with its examples uncommented: %v", err)
	}
}

func isKey(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return s != ""
}
