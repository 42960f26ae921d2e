package agent

import "context"

// Hooks for idempotency_test.go. Each runs a create or plug under ctx's key
// as the method does, with meanwhile called just before the operation: as if
// another attempt under the same key committed then, which otherwise takes a
// lucky race.

func CreateNetworkInterleaved(a *Agent, ctx context.Context, tenant string, spec NetworkSpec, meanwhile func()) (Network, error) {
	k, err := keyedNetwork(ctx, tenant, spec)
	if err != nil {
		return Network{}, err
	}
	return runKeyed(ctx, a.store, k,
		func() (Network, error) { meanwhile(); return a.createNetwork(ctx, tenant, spec, k) },
		func(id string) (Network, error) { return a.replayNetwork(ctx, tenant, id, spec), nil })
}

func PlugInterleaved(a *Agent, ctx context.Context, tenant, netID, portID string, spec AttachmentSpec, meanwhile func()) error {
	spec, k, err := a.keyedPlug(ctx, tenant, netID, portID, spec)
	if err != nil {
		return err
	}
	_, err = runKeyed(ctx, a.store, k,
		func() (struct{}, error) { meanwhile(); return struct{}{}, a.plug(ctx, tenant, netID, portID, spec, k) }, replayPlug)
	return err
}
