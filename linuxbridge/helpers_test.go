package linuxbridge

import (
	"fmt"
	"os/exec"
	"strings"
)

// testbedRun runs a command for a test (production code never does).
func testbedRun(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
