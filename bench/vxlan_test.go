package bench

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// vxlanPeers is how many other hosts share the vxlan network of
// BenchmarkWireTypes: each is a Chassis row with a VTEP and one attachment
// on the network, so the agent under test makes one tunnel port per peer.
const vxlanPeers = 3

// Addresses of the vxlan case: this host's VTEP sits on br-phys (an OVS
// internal port of a netdev bridge) and the peers are on its /24, so every
// tunnel has an egress route (the peers never answer: nothing is sent).
const (
	benchVTEP     = "198.19.9.1"
	benchPeerVTEP = "198.19.9.%d" // 2, 3, 4
)

// BenchmarkWireTypes wires N devices through the agent into one vlan network
// and into one vxlan network with vxlanPeers peers, alternating with the
// one-transaction floor (BenchmarkWire's vsctl-batch), each run on a fresh
// hypervisor: the one-transaction-per-pass batching must hold with
// tunnels as it does without. Run with -benchtime 1x; BENCH_SIZES and
// BENCH_RUNS as for BenchmarkWire.
func BenchmarkWireTypes(b *testing.B) {
	for _, n := range sizes() {
		b.Run("N="+strconv.Itoa(n), func(b *testing.B) {
			for r := 1; r <= runs(); r++ {
				b.Run(fmt.Sprintf("vlan-%d", r), func(b *testing.B) { benchWireType(b, n, false) })
				b.Run(fmt.Sprintf("vxlan-%dpeers-%d", vxlanPeers, r), func(b *testing.B) { benchWireType(b, n, true) })
				b.Run(fmt.Sprintf("vsctl-batch-%d", r), func(b *testing.B) { benchWireBatch(b, n) })
			}
		})
	}
}

func benchWireType(b *testing.B, n int, vxlan bool) {
	testbed.RequireRoot(b)
	mode := "vlan"
	if vxlan {
		mode = fmt.Sprintf("vxlan-%dpeers", vxlanPeers)
	}
	for range b.N {
		b.StopTimer()
		s := newAgentSetup(b, n)
		var extra []string
		if vxlan {
			s.ovs.Vsctl("add-br", "br-phys", "--", "set", "Bridge", "br-phys", "datapath_type=netdev")
			s.ovs.SetVTEP(b, "br-phys", benchVTEP+"/24")
			extra = []string{"--vxlan-local-ip", benchVTEP}
		}
		s.startAgent(b, extra...)
		c := client.New(s.socket)
		ctx, cancel := context.WithTimeout(context.Background(), wireTimeout)
		testutil.Eventually(b, "agent ready", time.Minute, s.readyz())
		req := client.NetworkRequest{Name: "bench"}
		if vxlan {
			req = client.NetworkRequest{Name: "bench", NetworkType: "vxlan", SegmentationID: 7000}
		}
		netID, err := c.CreateNetwork(ctx, tenant, req)
		if err != nil {
			b.Fatal(err)
		}
		if vxlan {
			s.addPeers(b, ctx, c, netID)
		}
		passes0, passSecs0 := s.reconcileStats()
		b.StartTimer()

		start := time.Now()
		jobs := make([]plugJob, n)
		for i, dev := range s.devs {
			jobs[i] = plugJob{network: netID, device: dev, ifaceID: fmt.Sprintf("vif-%05d", i), mac: macOf(i)}
		}
		if _, err := plugAll(ctx, c, jobs, clientWorkers); err != nil {
			b.Fatal(err)
		}
		requested := time.Since(start)
		if _, err := waitStatus(ctx, c, []string{netID}, n, client.StatusUp); err != nil {
			b.Fatal(err)
		}
		wire := time.Since(start)
		b.StopTimer()
		cancel()
		passes, passSecs := s.reconcileStats()
		tunnels := s.tunnelCount()
		if want := map[bool]int{false: 0, true: vxlanPeers}[vxlan]; tunnels != want {
			b.Fatalf("br-int has %d tunnel ports, want %d", tunnels, want)
		}
		if got := s.portCount(); got != n+tunnels {
			b.Fatalf("br-int has %d ports after %d attachments are UP (and %d tunnels)", got, n, tunnels)
		}
		b.ReportMetric(wire.Seconds(), "wire-s")
		b.ReportMetric(requested.Seconds(), "requests-s")
		b.ReportMetric(float64(tunnels), "tunnel-ports")
		b.ReportMetric(passes-passes0, "passes")
		b.ReportMetric(passSecs-passSecs0, "pass-s")
		record(n, mode, "wire", wire.Seconds())
		record(n, mode, "requests", requested.Seconds())
		record(n, mode, "passes", passes-passes0)
		record(n, mode, "pass-time", passSecs-passSecs0)
	}
}

// addPeers registers vxlanPeers other hosts with VTEPs in the Quantum DB
// (as their agents would at start) and plugs one attachment of each into
// network netID (the vif-binding extension's host), untimed.
func (s *agentSetup) addPeers(b *testing.B, ctx context.Context, c *client.Client, netID string) {
	b.Helper()
	store, err := agent.OpenStore(ctx, agent.StoreConfig{Endpoints: []string{s.qdb.Endpoint}}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	for i := range vxlanPeers {
		host := fmt.Sprintf("bench-peer%d", i+1)
		if err := store.RegisterChassis(ctx, agent.Chassis{Name: host, VTEPIP: fmt.Sprintf(benchPeerVTEP, i+2), Datapath: "ovs"}); err != nil {
			b.Fatal(err)
		}
		port, err := c.CreatePort(ctx, tenant, netID, client.StateActive)
		if err == nil {
			err = c.Plug(ctx, tenant, netID, port, client.PlugRequest{ID: "vif-" + host, Device: "tap-" + host, Host: host})
		}
		if err != nil {
			b.Fatalf("attachment of %s: %v", host, err)
		}
	}
}

// tunnelCount counts the vxlan ports on br-int.
func (h *hypervisor) tunnelCount() int {
	h.b.Helper()
	out := h.vsctl("--no-wait", "--bare", "--columns=name", "find", "Interface", "type=vxlan")
	return len(strings.Fields(out))
}
