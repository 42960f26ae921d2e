package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"time"
)

// ovsdbRPC is a bare OVSDB JSON-RPC connection (RFC 7047) to one server:
// the benchmarks write big transactions straight into the Quantum DB with
// it, without the agent and without libovsdb's cache (which would hold the
// whole database in the benchmark process).
type ovsdbRPC struct {
	conn net.Conn
	dec  *json.Decoder
	id   int
}

// rpcMessage is a request, reply or notification from the server.
type rpcMessage struct {
	ID     any             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  any             `json:"error"`
}

// dialOVSDB connects to a "unix:PATH" endpoint.
func dialOVSDB(ctx context.Context, endpoint string) (*ovsdbRPC, error) {
	path, ok := strings.CutPrefix(endpoint, "unix:")
	if !ok {
		return nil, fmt.Errorf("ovsdb endpoint %q: only unix: here", endpoint)
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	return &ovsdbRPC{conn: conn, dec: json.NewDecoder(conn)}, nil
}

func (o *ovsdbRPC) Close() error { return o.conn.Close() }

// call sends method(params) and returns the result, answering the
// server's echo requests meanwhile.
func (o *ovsdbRPC) call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Minute)
	}
	if err := o.conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	o.id++
	id := o.id
	enc := json.NewEncoder(o.conn)
	if err := enc.Encode(map[string]any{"method": method, "params": params, "id": id}); err != nil {
		return nil, err
	}
	for {
		var m rpcMessage
		if err := o.dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("ovsdb %s: %w", method, err)
		}
		if m.Method == "echo" {
			if err := enc.Encode(map[string]any{"result": m.Params, "error": nil, "id": m.ID}); err != nil {
				return nil, err
			}
			continue
		}
		if n, ok := m.ID.(float64); !ok || int(n) != id {
			continue // a notification, or not ours
		}
		if m.Error != nil {
			return nil, fmt.Errorf("ovsdb %s: %v", method, m.Error)
		}
		return m.Result, nil
	}
}

// transact runs ops as one transaction on database db and returns the
// UUIDs of the rows each op inserted ("" for other ops); an op's error
// fails the whole call.
func (o *ovsdbRPC) transact(ctx context.Context, db string, ops []map[string]any) ([]string, error) {
	params := make([]any, 0, len(ops)+1)
	params = append(params, db)
	for _, op := range ops {
		params = append(params, op)
	}
	raw, err := o.call(ctx, "transact", params...)
	if err != nil {
		return nil, err
	}
	var results []struct {
		UUID    []string `json:"uuid"`
		Error   string   `json:"error"`
		Details string   `json:"details"`
	}
	if err := json.Unmarshal(raw, &results); err != nil {
		return nil, fmt.Errorf("transact result: %w", err)
	}
	uuids := make([]string, len(ops))
	for i, r := range results {
		if r.Error != "" {
			return nil, fmt.Errorf("transact op %d: %s: %s", i, r.Error, r.Details)
		}
		if i < len(uuids) && len(r.UUID) == 2 {
			uuids[i] = r.UUID[1]
		}
	}
	return uuids, nil
}

// columns lists each table's columns in the served schema of db.
func (o *ovsdbRPC) columns(ctx context.Context, db string) (map[string]map[string]bool, error) {
	raw, err := o.call(ctx, "get_schema", db)
	if err != nil {
		return nil, err
	}
	var schema struct {
		Tables map[string]struct {
			Columns map[string]json.RawMessage `json:"columns"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		return nil, fmt.Errorf("schema of %s: %w", db, err)
	}
	out := map[string]map[string]bool{}
	for t, def := range schema.Tables {
		out[t] = map[string]bool{}
		for c := range def.Columns {
			out[t][c] = true
		}
	}
	return out, nil
}
