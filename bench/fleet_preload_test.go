package bench

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The preloaded fleet: attachments of other hosts, written straight into
// the DB in big transactions (not through the API: 50,000 plugs through an
// agent would take longer than the benchmark).
const (
	preloadPerHost    = 50  // attachments per preloaded host
	preloadPerNetwork = 100 // ports (each attached) per preloaded network
	preloadNetsPerTxn = 50  // networks, with all their ports, per transaction
	quantumDB         = "Quantum"
)

// preloaded is what preloadFleet wrote: network ids, and the port ids of
// the first network (for reads of another host's rows).
type preloaded struct {
	attachments int
	networks    []string
	firstPorts  []string
	hosts       int
}

// preloadFleet writes n attachments of hosts "fleet-pre-NNNNN" (50 each)
// into the DB at endpoint: local networks of 100 ports, every port
// attached and UP. Columns the served schema lacks are left out, so the
// same preload fits the schema before and after a change.
func preloadFleet(b *testing.B, endpoint string, n int) preloaded {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	db, err := dialOVSDB(ctx, endpoint)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cols, err := db.columns(ctx, quantumDB)
	if err != nil {
		b.Fatal(err)
	}
	insert := func(table, name string, row map[string]any) map[string]any {
		for c := range row {
			if !cols[table][c] {
				delete(row, c)
			}
		}
		return map[string]any{"op": "insert", "table": table, "uuid-name": name, "row": row}
	}
	out := preloaded{attachments: n, hosts: (n + preloadPerHost - 1) / preloadPerHost}
	now := time.Now().UnixNano()
	networks := (n + preloadPerNetwork - 1) / preloadPerNetwork
	for first := 0; first < networks; first += preloadNetsPerTxn {
		var ops []map[string]any
		netOps := map[int]int{} // network index -> op index
		portOps := []int{}      // op indexes of the first network's ports
		for k := first; k < min(first+preloadNetsPerTxn, networks); k++ {
			netName := fmt.Sprintf("n%d", k)
			netOps[k] = len(ops)
			ops = append(ops, insert("Network", netName, map[string]any{
				"tenant_id": tenant, "name": fmt.Sprintf("pre%05d", k), "network_type": "local",
				"segment_key": fmt.Sprintf("local:bench-pre-%d-%05d", now, k), "created_at": now,
			}))
			for i := k * preloadPerNetwork; i < min((k+1)*preloadPerNetwork, n); i++ {
				portName := fmt.Sprintf("p%d", i)
				if k == 0 {
					portOps = append(portOps, len(ops))
				}
				ops = append(ops, insert("Port", portName, map[string]any{
					"network": []any{"named-uuid", netName}, "tenant_id": tenant, "admin_state": "ACTIVE", "created_at": now,
				}))
				ops = append(ops, insert("Attachment", fmt.Sprintf("a%d", i), map[string]any{
					"interface_id": fmt.Sprintf("pre-vif-%d-%06d", now, i), "port": []any{"named-uuid", portName},
					"network": []any{"named-uuid", netName}, "host": fmt.Sprintf("fleet-pre-%05d", i/preloadPerHost),
					"device": fmt.Sprintf("tp%06d", i), "mac": macOf(i), "status": "UP", "created_at": now,
				}))
			}
		}
		uuids, err := db.transact(ctx, quantumDB, ops)
		if err != nil {
			b.Fatalf("preload networks %d..: %v", first, err)
		}
		for k := first; k < min(first+preloadNetsPerTxn, networks); k++ {
			out.networks = append(out.networks, uuids[netOps[k]])
		}
		for _, i := range portOps {
			out.firstPorts = append(out.firstPorts, uuids[i])
		}
	}
	return out
}

// deleteNetworkRows removes a network with all its ports and attachments
// in one transaction, straight in the DB (the agents are stopped): each
// scenario of the fleet benchmark starts from the same database.
func deleteNetworkRows(ctx context.Context, endpoint, network string) error {
	db, err := dialOVSDB(ctx, endpoint)
	if err != nil {
		return err
	}
	defer db.Close()
	ref := []any{"uuid", network}
	_, err = db.transact(ctx, quantumDB, []map[string]any{
		{"op": "delete", "table": "Attachment", "where": []any{[]any{"network", "==", ref}}},
		{"op": "delete", "table": "Port", "where": []any{[]any{"network", "==", ref}}},
		{"op": "delete", "table": "Network", "where": []any{[]any{"_uuid", "==", ref}}},
	})
	return err
}
