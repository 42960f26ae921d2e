package agent_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent"
	"github.com/quantum-agent/quantum-agent/agent/agenttest"
	"github.com/quantum-agent/quantum-agent/agent/qdb"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// BenchmarkHeapOwnAttachments reports the heap an agent holds with N
// attachments of its own host (QA_HEAP_ATTACHMENTS, default 10,000) and as
// many of another host, once synced: its store, cache and a reconciler that
// has wired them all (fake datapath). The Quantum DB is a real ovsdb-server,
// so the process heap is the agent's alone. Run with -memprofile to see
// where it goes (the profile is taken when synced):
//
//	QA_HEAP_PROFILE=/tmp/heap.out go test -run XXX -bench HeapOwnAttachments -benchtime 1x ./agent/
//	go tool pprof -sample_index=inuse_space -top /tmp/heap.out
func BenchmarkHeapOwnAttachments(b *testing.B) {
	testbed.RequireRoot(b)
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("QA_HEAP_ATTACHMENTS")); err == nil && v > 0 {
		n = v
	}
	if os.Getenv("QA_HEAP_PROFILE") != "" {
		runtime.MemProfileRate = 512 // fine enough to attribute the agent's heap
	}
	endpoint := testbed.StartQuantumDB(b)
	bulkPlug(b, endpoint, n, "hv-heap", "hv-other")
	for b.Loop() {
		base := heapInUse()
		cfg := agenttest.DefaultConfig()
		cfg.Host = "hv-heap"
		a := agenttest.NewAt(b, endpoint, cfg)
		dp := agenttest.NewDatapath(agent.StatusUp)
		rec := agenttest.StartReconciler(b, a, dp, cfg.Host)
		testutil.Eventually(b, "the agent to wire its attachments", 5*time.Minute, func() bool {
			return rec.Ready() == nil && len(dp.Wired()) == n
		})
		used := heapInUse() - base
		writeHeapProfile(b)
		b.ReportMetric(float64(used)/(1<<20), "MiB-heap")
		b.ReportMetric(float64(used)/float64(n), "B/attachment")
		debug.FreeOSMemory()
		b.ReportMetric(float64(rss(b))/(1<<20), "MiB-rss-process")
		runtime.KeepAlive(a)
	}
}

// writeHeapProfile writes the heap profile to QA_HEAP_PROFILE, if set.
func writeHeapProfile(b *testing.B) {
	path := os.Getenv("QA_HEAP_PROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// rss is the process's resident set (the test binary's, the agent's part
// being what heapInUse reports, plus the runtime and the code).
func rss(b *testing.B) int {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb << 10
		}
	}
	return 0
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// bulkPlug writes one network and n ACTIVE ports with attachments on each
// of hosts, in transactions of 500 rows, as a fleet would have made them;
// it returns the network's id.
func bulkPlug(b *testing.B, endpoint string, n int, hosts ...string) string {
	b.Helper()
	dbModel, err := qdb.FullDatabaseModel()
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.NewOVSDBClient(dbModel, client.WithEndpoint(endpoint))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	netID := uuid.NewString()
	ops := mustCreate(b, c, &qdb.Network{UUID: netID, TenantID: "t", Name: "big", NetworkType: agent.NetworkTypeLocal, SegmentKey: "local:" + netID})
	active := agent.PortActive
	for _, host := range hosts {
		for i := range n {
			portID := uuid.NewString()
			ops = append(ops, mustCreate(b, c, &qdb.Port{UUID: portID, Network: netID, TenantID: "t", AdminState: active, CreatedAt: i})...)
			ops = append(ops, mustCreate(b, c, &qdb.Attachment{UUID: fmt.Sprintf("a%d", i), InterfaceID: fmt.Sprintf("%s-vif-%d", host, i),
				Port: portID, Network: netID, Host: host, Device: fmt.Sprintf("tap%d", i), MAC: "fa:16:3e:00:00:01",
				Status: agent.StatusProvisioning, AdminState: &active, CreatedAt: i})...)
			if len(ops) >= 500 || i == n-1 {
				res, err := c.Transact(ctx, ops...)
				if err == nil {
					_, err = ovsdb.CheckOperationResults(res, ops)
				}
				if err != nil {
					b.Fatalf("bulk plug: %v", err)
				}
				ops = nil
			}
		}
	}
	return netID
}
