package agent

import "context"

// ReconcileOnce runs one event-triggered (not full) pass of r, as a change
// of the Quantum DB does (for benchmarks of a pass alone).
func ReconcileOnce(ctx context.Context, r *Reconciler) error { return r.pass(ctx, false) }
