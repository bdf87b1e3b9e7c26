package outhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/outbounddelivery"
	"github.com/switchboard-dev/switchboard/ent/schema"
	"github.com/switchboard-dev/switchboard/ent/webhookendpoint"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// scanHeads bounds how many pending deliveries of one endpoint a claim reads
// to find the heads of its conversations.
const scanHeads = 1000

// Run sends due deliveries until ctx ends: every Config.Poll, and at once
// when an event that may have made one arrives on bus (from any instance).
// It waits for the attempts in flight before it returns.
func (s *Service) Run(ctx context.Context, bus realtime.Bus) error {
	sub, err := bus.Subscribe(ctx, "")
	if err != nil {
		return err
	}
	go func() {
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.Events():
				if !ok {
					return
				}
				if relevant(e) {
					s.Wake()
				}
			}
		}
	}()
	go func() {
		tick := time.NewTicker(s.cfg.Poll)
		defer tick.Stop()
		lastPurge := time.Time{}
		for {
			select {
			case <-ctx.Done():
				s.inFlight.Wait()
				return
			case <-tick.C:
			case <-s.wake:
			}
			if _, err := s.DispatchOnce(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("outbound webhooks: dispatch", "err", err)
			}
			if time.Since(lastPurge) > time.Hour {
				lastPurge = time.Now()
				if err := s.purge(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("outbound webhooks: purge", "err", err)
				}
			}
		}
	}()
	return nil
}

// Wake makes Run look for due deliveries now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Wait blocks until the attempts DispatchOnce started have ended.
func (s *Service) Wait() { s.inFlight.Wait() }

// DispatchOnce claims the deliveries that may be sent now, on every enabled
// endpoint, and starts sending them; it returns how many it started (Wait
// waits for them). A delivery may be sent when it is due, not leased, first
// in its conversation for its endpoint, and its endpoint has room.
func (s *Service) DispatchOnce(ctx context.Context) (int, error) {
	pctx := viewer.Platform(ctx)
	eps, err := s.client.WebhookEndpoint.Query().Where(webhookendpoint.Enabled(true)).All(pctx)
	if err != nil {
		return 0, err
	}
	started := 0
	var errs []error
	for _, ep := range eps {
		claimed, err := s.claim(pctx, ep.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("endpoint %s: %w", ep.ID, err))
			continue
		}
		for _, d := range claimed {
			started++
			s.inFlight.Add(1)
			go func() {
				defer s.inFlight.Done()
				s.attempt(ctx, d)
			}()
		}
	}
	return started, errors.Join(errs...)
}

// claim leases the sendable deliveries of one endpoint, as many as it has
// room for, under the endpoint's row lock so that instances claiming at once
// respect max_in_flight together.
func (s *Service) claim(ctx context.Context, endpointID string) ([]*ent.OutboundDelivery, error) {
	var out []*ent.OutboundDelivery
	err := store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		ep, err := tx.WebhookEndpoint.Query().Where(webhookendpoint.ID(endpointID), webhookendpoint.Enabled(true)).
			Modify(schema.LockRow).Only(ctx)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		now := s.clock.Now().UTC()
		pending, err := tx.OutboundDelivery.Query().
			Where(outbounddelivery.EndpointID(ep.ID), outbounddelivery.StateEQ(outbounddelivery.StatePENDING)).
			Order(ent.Asc(outbounddelivery.FieldSeq)).Limit(scanHeads).All(ctx)
		if err != nil {
			return err
		}
		room := ep.MaxInFlight
		for _, d := range pending {
			if d.LeaseUntil != nil && d.LeaseUntil.After(now) {
				room--
			}
		}
		seen := map[string]bool{}
		var ids []string
		for _, d := range pending {
			if room <= 0 {
				break
			}
			if seen[d.OrderKey] {
				continue // an earlier one of its conversation is still owed
			}
			seen[d.OrderKey] = true
			leased := d.LeaseUntil != nil && d.LeaseUntil.After(now)
			if leased || d.NextAttemptAt.After(now) {
				continue
			}
			ids = append(ids, d.ID)
			out = append(out, d)
			room--
		}
		if len(ids) == 0 {
			return nil
		}
		until := now.Add(s.cfg.Lease)
		for _, d := range out {
			d.LeaseUntil = &until
			d.Edges.Endpoint = ep
		}
		return tx.OutboundDelivery.Update().Where(outbounddelivery.IDIn(ids...)).SetLeaseUntil(until).Exec(ctx)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// attempt sends one claimed delivery and records the outcome. When ctx ends
// first (the instance stops) it records nothing: the lease lapses and the
// delivery is sent again, by this instance's successor or another.
func (s *Service) attempt(ctx context.Context, d *ent.OutboundDelivery) {
	ep := d.Edges.Endpoint
	pctx := viewer.Platform(ctx)
	var body []byte
	if d.Payload != nil {
		body = *d.Payload // a NULL scans as empty, never nil: see docs/notes.md
	}
	if len(body) == 0 {
		rendered, skip, err := s.render(ctx, ep, d)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("outbound webhooks: render", "delivery", d.ID, "err", err)
				s.record(pctx, d, outcome{err: fmt.Errorf("render: %w", err)})
			}
			return
		}
		if skip {
			s.record(pctx, d, outcome{skipped: true})
			return
		}
		if err := s.client.OutboundDelivery.UpdateOneID(d.ID).SetPayload(rendered).Exec(pctx); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("outbound webhooks: keep payload", "delivery", d.ID, "err", err)
			}
			return
		}
		body = rendered
	}
	secret, err := s.secret(ep)
	if err != nil {
		s.record(pctx, d, outcome{err: err})
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		s.record(pctx, d, outcome{err: err})
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard-Webhooks/1")
	req.Header.Set(HeaderEventID, d.EventID)
	req.Header.Set(HeaderEventType, d.EventType)
	req.Header.Set(HeaderDelivery, d.ID)
	req.Header.Set(HeaderSignature, Sign(secret, time.Now(), body))
	began := time.Now()
	resp, err := s.http.Do(req)
	took := time.Since(began)
	if ctx.Err() != nil {
		return // stopping: the lease lapses, someone sends it again
	}
	o := outcome{took: took, err: err}
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		o.status = resp.StatusCode
	}
	s.record(pctx, d, o)
}

type outcome struct {
	status  int
	took    time.Duration
	err     error
	skipped bool
}

func (o outcome) ok() bool { return o.err == nil && o.status >= 200 && o.status < 300 }

// backoff is the wait before attempt n+1 after n failed ones: 10 s doubling,
// at most an hour.
func backoff(n int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// record writes an attempt's outcome on the delivery and its endpoint.
func (s *Service) record(ctx context.Context, d *ent.OutboundDelivery, o outcome) {
	now := s.clock.Now().UTC()
	ep := d.Edges.Endpoint
	err := store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		upd := tx.OutboundDelivery.UpdateOneID(d.ID).ClearLeaseUntil()
		switch {
		case o.skipped:
			return upd.SetState(outbounddelivery.StateSKIPPED).Exec(ctx)
		case o.ok():
			upd.SetState(outbounddelivery.StateDELIVERED).SetDeliveredAt(now).ClearLastError()
		default:
			attempts := d.Attempts + 1
			upd.SetNextAttemptAt(now.Add(backoff(attempts)))
			if now.Sub(d.OccurredAt) >= s.cfg.GiveUpAfter {
				upd.SetState(outbounddelivery.StateFAILED)
			}
			upd.SetLastError(failure(o))
		}
		upd.AddAttempts(1).SetLastDurationMs(int(o.took.Milliseconds()))
		if o.status != 0 {
			upd.SetLastStatus(o.status)
		}
		if err := upd.Exec(ctx); err != nil {
			return err
		}
		return s.endpointOutcome(ctx, tx, ep, o.ok(), now)
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("outbound webhooks: record", "delivery", d.ID, "err", err)
	}
	if o.ok() {
		s.Wake() // the next of its conversation may go now
	}
}

func failure(o outcome) string {
	var msg string
	if o.err != nil {
		msg = o.err.Error()
	} else {
		msg = fmt.Sprintf("HTTP %d", o.status)
	}
	if len(msg) > 500 {
		msg = strings.ToValidUTF8(msg[:500], "")
	}
	return msg
}

// endpointOutcome keeps the endpoint's failure streak and disables it after
// DisableAfter without a success.
func (s *Service) endpointOutcome(ctx context.Context, tx *ent.Tx, ep *ent.WebhookEndpoint, ok bool, now time.Time) error {
	if ok {
		return tx.WebhookEndpoint.Update().Where(webhookendpoint.ID(ep.ID), webhookendpoint.ConsecutiveFailuresGT(0)).
			SetConsecutiveFailures(0).ClearFailingSince().Exec(ctx)
	}
	cur, err := tx.WebhookEndpoint.Get(ctx, ep.ID)
	if err != nil {
		return err
	}
	upd := cur.Update().AddConsecutiveFailures(1)
	since := now
	if cur.FailingSince != nil {
		since = *cur.FailingSince
	} else {
		upd.SetFailingSince(now)
	}
	if !cur.Enabled || now.Sub(since) < s.cfg.DisableAfter {
		return upd.Exec(ctx)
	}
	reason := fmt.Sprintf("no successful delivery since %s (%d failures in a row)", since.Format(time.RFC3339), cur.ConsecutiveFailures+1)
	if err := upd.SetEnabled(false).SetDisabledReason(reason).Exec(ctx); err != nil {
		return err
	}
	s.log.Warn("outbound webhooks: endpoint disabled", "endpoint", ep.ID, "tenant", ep.TenantID, "reason", reason)
	return s.disabled(viewer.System(ctx, ep.TenantID), tx, cur, reason)
}

// purge drops delivered and skipped rows older than KeepDelivered.
func (s *Service) purge(ctx context.Context) error {
	before := s.clock.Now().Add(-s.cfg.KeepDelivered)
	_, err := s.client.OutboundDelivery.Delete().Where(
		outbounddelivery.StateIn(outbounddelivery.StateDELIVERED, outbounddelivery.StateSKIPPED),
		outbounddelivery.UpdatedAtLT(before),
	).Exec(viewer.Platform(ctx))
	return err
}
