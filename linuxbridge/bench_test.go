package linuxbridge

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
)

// benchNetworks is how many bridges the N ports are spread over.
const benchNetworks = 10

// BenchmarkLinuxBridgeWire wires N pre-created veths (up, MTU 1500, no
// IPv6) into bridges: through the datapath's Sync (one netlink socket, one
// request per change) against `ip link set DEV master BR` per port, in the
// same run and hypervisor. Unwiring between iterations is not timed. Sync
// also creates its bridges; the ip baseline gets them made beforehand.
func BenchmarkLinuxBridgeWire(b *testing.B) {
	testbed.RequireRoot(b)
	for _, n := range []int{100, 500, 1000} {
		hv := testbed.StartLBHost(b)
		desired := benchPorts(b, hv, n)
		b.Run(fmt.Sprintf("N=%d/datapath-sync", n), func(b *testing.B) {
			dp, err := New(Config{Host: "bench", NetNS: hv.NetNSPath()}, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			defer dp.Close()
			ctx := context.Background()
			for b.Loop() {
				states, err := dp.Sync(ctx, desired)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				for _, s := range states {
					if s.Status != agent.StatusUp {
						b.Fatalf("%s: %s %s", s.AttachmentID, s.Status, s.Reason)
					}
				}
				if _, err := dp.Sync(ctx, nil); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/port")
		})
		b.Run(fmt.Sprintf("N=%d/ip-per-port", n), func(b *testing.B) {
			var mk, undo strings.Builder
			for i := range benchNetworks {
				fmt.Fprintf(&mk, "link add brbench%d type bridge\nlink set brbench%d up\n", i, i)
				fmt.Fprintf(&undo, "link del brbench%d\n", i)
			}
			for b.Loop() {
				b.StopTimer()
				ipBatch(b, hv, mk.String())
				b.StartTimer()
				for i, w := range desired {
					hv.IP("link", "set", w.Device, "master", fmt.Sprintf("brbench%d", i%benchNetworks))
				}
				b.StopTimer()
				ipBatch(b, hv, undo.String())
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/port")
		})
	}
}

// benchPorts makes n veth pairs in hv (one `ip -batch`) and returns them as
// wired ports of benchNetworks local networks.
func benchPorts(b *testing.B, hv *testbed.LBHost, n int) []agent.WiredPort {
	b.Helper()
	var batch strings.Builder
	desired := make([]agent.WiredPort, 0, n)
	for i := range n {
		dev := fmt.Sprintf("bv%d", i)
		fmt.Fprintf(&batch, "link add %s type veth peer name %sp\nlink set %s up\nlink set %sp up\n", dev, dev, dev, dev)
		desired = append(desired, agent.WiredPort{
			AttachmentID: "att-" + dev, PortID: "port-" + dev, Device: dev, AdminUp: true,
			NetworkID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i%benchNetworks),
			Segment:   agent.Segment{Type: agent.NetworkTypeLocal},
		})
	}
	ipBatch(b, hv, batch.String())
	return desired
}

func ipBatch(b *testing.B, hv *testbed.LBHost, cmds string) {
	b.Helper()
	f := filepath.Join(b.TempDir(), "batch")
	if err := os.WriteFile(f, []byte(cmds), 0o600); err != nil {
		b.Fatal(err)
	}
	hv.IP("-batch", f)
}
