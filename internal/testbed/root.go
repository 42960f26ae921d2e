package testbed

import (
	"os"
	"os/exec"
	"testing"
)

// tools the test bed runs.
var tools = []string{"ip", "ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-appctl", "ping", "sysctl"}

// VswitchSchema is the Open_vSwitch schema Debian's openvswitch-common ships.
const VswitchSchema = "/usr/share/openvswitch/vswitch.ovsschema"

// RequireRoot skips the test unless it runs as root on a machine with Open
// vSwitch installed. Under CI=true it fails instead: CI must run it.
func RequireRoot(t testing.TB) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root"
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil && why == "" {
			why = "needs " + tool + " in PATH"
		}
	}
	if _, err := os.Stat(VswitchSchema); err != nil && why == "" {
		why = "needs " + VswitchSchema
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("privileged test %s (CI=true, so not skipping)", why)
	}
	t.Skipf("privileged test %s", why)
}
