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
	retryAs := TriggerResync // the timer's first firing is the first pass, a full one
	for {
		var trigger string
		select {
		case <-ctx.Done():
			return nil
		case <-r.store.Changes():
			trigger = TriggerQuantumDB
		case <-r.dp.Changes():
			trigger = TriggerDatapath
		case <-ticker.C:
			trigger = TriggerResync
		case <-retry.C:
			trigger = retryAs
		case <-sweep.C:
			r.sweepIdempotencyKeys(ctx)
			continue
		}
		start := time.Now()
		// A panic in a library under the pass (libovsdb, netlink) fails the
		// pass, which is retried like any other failure.
		err := guard.Call(r.log, r.store.panics, "reconciler", func() error { return r.pass(ctx, trigger == TriggerResync) })
		r.metrics.observePass(trigger, time.Since(start), err)
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
		retryAs = TriggerRetry
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
// Everything it reads is in the cache, which holds this host's attachments
// and no other host's: its cost follows this host, not the fleet. A resync
// (full) also reads the admin state of every port of this host from the
// ports themselves, and repairs the attachments' copies that differ: a
// change made through an agent of schema 1.2.0, which updates only the
// port, reaches the wire then.
func (r *Reconciler) pass(ctx context.Context, full bool) error {
	ctx, cancel := context.WithTimeout(ctx, passTimeout)
	defer cancel()
	nets, err := r.store.listNetworks(ctx)
	if err != nil {
		return err
	}
	atts, err := r.store.attachmentsOn(ctx, r.host)
	if err != nil {
		return err
	}
	if r.host == r.store.host {
		r.store.tally.recount(nets, atts)
	}
	repair, err := r.store.portAdminStates(ctx, atts, full)
	if err != nil {
		return err
	}
	desired := r.desired(nets, atts, repair)
	r.fillPeers(ctx, desired)
	states, err := r.dp.Sync(ctx, desired)
	if err != nil {
		return fmt.Errorf("datapath sync of %d ports: %w", len(desired), err)
	}
	if err := r.writeStatus(ctx, atts, states, repair); err != nil {
		return err
	}
	return r.publishNetworks(ctx, nets, atts)
}

// desired builds this host's wired ports from its attachments. The port's
// admin state is what repair read from the port, where it did (attachments
// written by an agent of schema 1.2.0, without the copy; every one on a
// resync), else the copy on the attachment. Which
// segment types a datapath can carry is the datapath's business: it reports
// FAILED, with the reason, for what it cannot.
func (r *Reconciler) desired(networks []qdb.Network, atts []qdb.Attachment, repair map[string]string) []WiredPort {
	nets := make(map[string]qdb.Network, len(networks))
	for _, n := range networks {
		nets[n.UUID] = n
	}
	out := make([]WiredPort, 0, len(atts))
	for _, a := range atts {
		n := nets[a.Network]
		seg := Segment{Type: n.NetworkType, PhysicalNetwork: n.PhysicalNetwork, SegmentationID: n.SegmentationID}
		admin, ok := repair[a.Port]
		if !ok && a.AdminState != nil {
			admin = *a.AdminState
		}
		wp := WiredPort{
			AttachmentID: a.InterfaceID, PortID: a.Port, NetworkID: a.Network,
			Device: a.Device, MAC: a.MAC, VMID: a.VmID, Segment: seg,
			AdminUp: admin == PortActive,
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

// writeStatus stores, in one transaction, the states that changed and the
// admin states repair read that the attachments' copies lack.
func (r *Reconciler) writeStatus(ctx context.Context, atts []qdb.Attachment, states []PortState, repair map[string]string) error {
	byIface := make(map[string]*qdb.Attachment, len(atts)) // pointers: no second copy of every row
	for i := range atts {
		byIface[atts[i].InterfaceID] = &atts[i]
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
	for _, a := range atts {
		if state, ok := repair[a.Port]; ok && (a.AdminState == nil || *a.AdminState != state) {
			var err error
			if ops, err = r.store.setAdminStateOps(ops, a.UUID, state); err != nil {
				return err
			}
		}
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
// other hosts whose Chassis row lists the network (each host's reconciler
// keeps its own list: publishNetworks). Hosts without a VTEP address are
// left out (they cannot terminate tunnels).
func (r *Reconciler) fillPeers(ctx context.Context, desired []WiredPort) {
	chassis, err := r.store.listChassis(ctx)
	if err != nil {
		r.log.Warn("cannot read Chassis rows; VXLAN ports get no peers this pass", "err", err)
		return
	}
	own := ""
	for _, c := range chassis {
		if c.Name == r.host {
			own = c.VtepIP
		}
	}
	peers := map[string][]string{} // network -> VTEPs of other hosts
	for _, c := range chassis {
		if c.Name == r.host || c.VtepIP == "" || c.VtepIP == own {
			continue
		}
		for _, n := range c.Networks {
			peers[n] = append(peers[n], c.VtepIP)
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

// publishNetworks keeps this host's Chassis row listing the VXLAN networks
// it has attachments on, which is how the other hosts find their tunnel
// peers without reading every attachment. One small write when the list
// changes, none otherwise; nothing for a host without a Chassis row (no
// VTEP: nobody tunnels to it). Only VXLAN networks: other segment types
// need no peers, so a host joining them changes no row other agents monitor.
func (r *Reconciler) publishNetworks(ctx context.Context, networks []qdb.Network, atts []qdb.Attachment) error {
	have, err := r.store.chassisNamed(ctx, r.host)
	if err != nil || have == nil {
		return err
	}
	vxlan := make(map[string]bool, len(networks))
	for _, n := range networks {
		vxlan[n.UUID] = n.NetworkType == NetworkTypeVXLAN
	}
	var want []string
	for _, a := range atts {
		if vxlan[a.Network] {
			want = append(want, a.Network)
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)
	got := slices.Sorted(slices.Values(have.Networks))
	if slices.Equal(want, got) {
		return nil
	}
	ops, err := r.store.setChassisNetworksOps(nil, have.UUID, want)
	if err != nil {
		return err
	}
	_, err = r.store.transact(ctx, ops)
	return err
}
