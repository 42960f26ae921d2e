package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
)

// SchemaPath is where the package installs the Quantum DB schema.
const SchemaPath = "/usr/share/quantum-agent/quantum.ovsschema"

// schemaMismatch explains a connection refused because the server's schema
// lacks tables or columns of this agent's (libovsdb says only "validation
// error"): it asks an endpoint for its version, with a client of the one
// table every version has, and names both versions and the fix. nil when
// that is not what happened.
func schemaMismatch(ctx context.Context, endpoints []string, connectErr error) error {
	if connectErr == nil || !strings.Contains(connectErr.Error(), "validation error") {
		return nil
	}
	want := qdb.Schema().Version
	for _, ep := range endpoints {
		have, err := serverSchemaVersion(ctx, ep)
		if err != nil || have == want {
			continue
		}
		return &Error{Kind: KindUnavailable, Err: connectErr, Detail: fmt.Sprintf(
			"the Quantum DB at %s has schema %s and this agent needs %s: convert it first "+
				"(restart quantum-ovsdb.service, which converts, or: ovsdb-client convert %s %s)",
			ep, have, want, ep, SchemaPath)}
	}
	return nil
}

// serverSchemaVersion reads the version of the Quantum schema endpoint serves.
func serverSchemaVersion(ctx context.Context, endpoint string) (string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	m, err := model.NewClientDBModel("Quantum", map[string]model.Model{qdb.GlobalTable: &qdb.Global{}})
	if err != nil {
		return "", err
	}
	c, err := client.NewOVSDBClient(m, client.WithEndpoint(endpoint))
	if err != nil {
		return "", err
	}
	if err := c.Connect(ctx); err != nil {
		return "", err
	}
	defer c.Close()
	return c.Schema().Version, nil
}
