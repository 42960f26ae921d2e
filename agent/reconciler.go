package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantum-agent/quantum-agent/agent/qdb"
	"github.com/quantum-agent/quantum-agent/internal/guard"
)

// Reconciler makes the datapath match the Quantum DB for this host's
// attachments, and writes what it observes back as attachment status.
//
// It is level-triggered: an event only says "look again"; each pass reads
// the whole desired state fresh from the cache and hands it to the datapath,
// so a burst of a thousand plugs becomes a few passes and a few transactions.
type Reconciler struct {
	store  *Store
	dp     Datapath
	host   string
	log    *slog.Logger
	resync time.Duration

	mu       sync.Mutex
	synced   bool  // a full pass has completed
	lastErr  error // of the last pass
	lastPass time.Time

	metrics *Metrics // nil: none (metrics.go)
}

// NewReconciler returns a reconciler for host; resync is the period of the
// safety-net full pass that runs even without events. It records its passes
// and plug-to-UP times in metrics (nil: nowhere).
func NewReconciler(store *Store, dp Datapath, host string, resync time.Duration, metrics *Metrics, log *slog.Logger) *Reconciler {
	if resync <= 0 {
		resync = 30 * time.Second
	}
	return &Reconciler{store: store, dp: dp, host: host, resync: resync, metrics: metrics, log: log}
}

// Run reconciles until ctx ends. Failed passes are retried with backoff.
func (r *Reconciler) Run(ctx context.Context) error {
	ticker := time.NewTicker(r.resync)
	defer ticker.Stop()
	sweep := time.NewTicker(idempotencySweepEvery)
	defer sweep.Stop()
	retry := time.NewTimer(0) // the first pass runs at once
	defer retry.Stop()
	backoff := 100 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.store.Changes():
		case <-r.dp.Changes():
		case <-ticker.C:
		case <-retry.C:
		case <-sweep.C:
			r.sweepIdempotencyKeys(ctx)
			continue
		}
		start := time.Now()
		// A panic in a library under the pass (libovsdb, netlink) fails the
		// pass, which is retried like any other failure.
		err := guard.Call(r.log, r.store.panics, "reconciler", func() error { return r.pass(ctx) })
		r.metrics.observePass(time.Since(start), err)
		r.record(err)
		if err == nil {
			backoff = 100 * time.Millisecond
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		r.log.Warn("reconcile pass failed; retrying", "err", err, "retry_in", backoff)
		retry.Reset(backoff)
		backoff = min(backoff*2, 10*time.Second)
	}
}

// idempotencySweepEvery is how often expired Idempotency-Key records are
// deleted (they live IdempotencyKeyLifetime, 24 h, at least). Every agent
// sweeps: one small transaction an hour each; after the first, the others
// delete nothing.
const idempotencySweepEvery = time.Hour

func (r *Reconciler) sweepIdempotencyKeys(ctx context.Context) {
	err := guard.Call(r.log, r.store.panics, "idempotency sweep", func() error {
		sctx, cancel := context.WithTimeout(ctx, passTimeout)
		defer cancel()
		n, err := r.store.SweepIdempotencyKeys(sctx, IdempotencyKeyLifetime)
		if n > 0 {
			r.log.Info("expired Idempotency-Key records deleted", "count", n)
		}
		return err
	})
	if err != nil && ctx.Err() == nil {
		r.log.Warn("sweeping expired Idempotency-Key records failed; next sweep later", "err", err)
	}
}

func (r *Reconciler) record(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastErr = err
	r.lastPass = time.Now()
	if err == nil {
		r.synced = true
	}
}

// Ready returns nil once a full pass has succeeded and the last one did,
// else the reason.
func (r *Reconciler) Ready() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.lastErr != nil:
		return fmt.Errorf("last reconcile pass failed: %w", r.lastErr)
	case !r.synced:
		return errors.New("first reconcile pass not done yet")
	}
	return nil
}

// LastPass is when the last pass ended (for the watchdog: proof of life).
func (r *Reconciler) LastPass() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastPass
}

// passTimeout bounds one pass: a Quantum DB that is away must not wedge the
// loop (libovsdb blocks writes until it reconnects), so the datapath keeps
// being healed from the last known desired state meanwhile.
const passTimeout = 30 * time.Second

// pass runs one reconcile: desired from the DB → datapath → status back.
func (r *Reconciler) pass(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, passTimeout)
	defer cancel()
	snap, err := r.store.snapshot(ctx)
	if err != nil {
		return err
	}
	desired := r.desired(snap)
	r.fillPeers(ctx, snap, desired)
	states, err := r.dp.Sync(ctx, desired)
	if err != nil {
		return fmt.Errorf("datapath sync of %d ports: %w", len(desired), err)
	}
	return r.writeStatus(ctx, snap, states)
}

// desired builds this host's wired ports from a snapshot. Which segment
// types a datapath can carry is the datapath's business: it reports FAILED,
// with the reason, for what it cannot.
func (r *Reconciler) desired(snap snapshot) []WiredPort {
	nets := make(map[string]qdb.Network, len(snap.networks))
	for _, n := range snap.networks {
		nets[n.UUID] = n
	}
	ports := make(map[string]qdb.Port, len(snap.ports))
	for _, p := range snap.ports {
		ports[p.UUID] = p
	}
	var out []WiredPort
	for _, a := range snap.attachments {
		if a.Host != r.host {
			continue
		}
		n, p := nets[a.Network], ports[a.Port]
		seg := Segment{Type: n.NetworkType, PhysicalNetwork: n.PhysicalNetwork, SegmentationID: n.SegmentationID}
		wp := WiredPort{
			AttachmentID: a.InterfaceID, PortID: a.Port, NetworkID: a.Network,
			Device: a.Device, MAC: a.MAC, VMID: a.VmID, Segment: seg,
			AdminUp: p.AdminState == PortActive,
		}
		switch {
		case !wp.AdminUp:
			wp.VLAN = DeadVLAN
		case seg.Type == NetworkTypeVLAN:
			wp.VLAN = seg.SegmentationID
		}
		out = append(out, wp)
	}
	return out
}

// writeStatus stores the states that changed, in one transaction.
func (r *Reconciler) writeStatus(ctx context.Context, snap snapshot, states []PortState) error {
	byIface := make(map[string]qdb.Attachment, len(snap.attachments))
	for _, a := range snap.attachments {
		byIface[a.InterfaceID] = a
	}
	var ops []ovsdb.Operation
	for _, st := range states {
		a, ok := byIface[st.AttachmentID]
		if !ok || (a.Status == st.Status && a.Reason == st.Reason) {
			continue
		}
		var err error
		if ops, err = r.store.setStatusOps(ops, a.UUID, st.Status, st.Reason); err != nil {
			return err
		}
		r.log.Info("attachment status", "attachment", a.InterfaceID, "port", a.Port, "device", a.Device, "status", st.Status, "reason", st.Reason)
	}
	if len(ops) == 0 {
		return nil
	}
	_, err := r.store.transact(ctx, ops)
	if err == nil {
		r.metrics.observeUp(byIface, states)
	}
	return err
}

// fillPeers sets the Peers of this host's VXLAN ports: the VTEPs of the
// other hosts that have attachments on the same network. Hosts without a
// Chassis row or VTEP address are left out (they cannot terminate tunnels).
func (r *Reconciler) fillPeers(ctx context.Context, snap snapshot, desired []WiredPort) {
	chassis, err := r.store.listChassis(ctx)
	if err != nil {
		r.log.Warn("cannot read Chassis rows; VXLAN ports get no peers this pass", "err", err)
		return
	}
	vtep := make(map[string]string, len(chassis))
	for _, c := range chassis {
		vtep[c.Name] = c.VtepIP
	}
	peers := map[string][]string{} // network -> VTEPs of other hosts
	for _, a := range snap.attachments {
		if ip := vtep[a.Host]; a.Host != r.host && ip != "" && ip != vtep[r.host] {
			peers[a.Network] = append(peers[a.Network], ip)
		}
	}
	for n, ips := range peers {
		slices.Sort(ips)
		peers[n] = slices.Compact(ips)
	}
	for i := range desired {
		if desired[i].Segment.Type == NetworkTypeVXLAN {
			desired[i].Peers = peers[desired[i].NetworkID]
		}
	}
}
