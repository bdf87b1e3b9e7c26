package graph

import (
	"context"
	"slices"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
	"github.com/switchboard-dev/switchboard/viewer"
)

// subscribe follows the viewer's tenant on bus: what every subscription
// resolver starts with.
func subscribe(ctx context.Context, bus realtime.Bus) (*realtime.Subscription, error) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return nil, apperr.New(apperr.Unauthenticated, "sign in first")
	}
	if bus == nil {
		return nil, apperr.New(apperr.Internal, "live events are not available")
	}
	return bus.Subscribe(ctx, v.TenantID)
}

// stream turns the bus into a subscription's channel: the viewer's tenant's
// events of the given types, replayed from after (when given) and then live,
// each turned into an output by load (false: not for this subscriber, e.g.
// outside their row scope). A gap the replay window cannot fill, events lost
// to a slow reader, or an event load failed to read yield resync(seq) so the
// client reloads.
//
// load runs with the subscriber's context, so privacy rules and row scopes
// decide what it may load; the field guard then applies to the payload.
func stream[T any](ctx context.Context, bus realtime.Bus, after *int, types []string,
	load func(ctx context.Context, e realtime.Event) (T, bool, error), resync func(seq uint64) T) (<-chan T, error) {
	sub, err := subscribe(ctx, bus)
	if err != nil {
		return nil, err
	}
	out := make(chan T, 1)
	// last is the Seq the client knows. Live events may repeat the end of
	// the replay (the subscription is made before it) until one passes it;
	// after that, or when there was no replay to repeat (a resync), a live
	// event at or below last means the tenant's sequence went back (a bus
	// whose history was reset): it is news, not a repeat, and the stream
	// goes on from it rather than staying silent until the old Seq is passed.
	var last uint64
	overlap := false
	emit := func(e realtime.Event, live bool) bool {
		if e.Seq <= last && (!live || overlap) {
			return true // already sent during the replay
		}
		if live {
			overlap = false
		}
		last = e.Seq
		if live && realtime.Revokes(e) {
			// Nothing after a revocation reaches a connection it revokes.
			gateway.AwaitRevocation(ctx, e.TenantID, e.Seq)
			if ctx.Err() != nil {
				return false
			}
		}
		if !slices.Contains(types, e.Type) {
			return true
		}
		item, ok, err := load(ctx, e)
		switch {
		case err != nil && invisible(err):
			return true // not visible to this subscriber (or gone): skip
		case ctx.Err() != nil:
			return false // the subscriber left
		case err != nil:
			item = resync(e.Seq) // not read (e.g. the database failed): reload rather than lose it
		case !ok:
			return true
		}
		select {
		case out <- item:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if since, ok := gateway.ResumeFrom(ctx); ok && (after == nil || *after < 0) {
		// Restarted by a re-admission: the old execution delivered up to since.
		from := int(since)
		after = &from
	}
	var replay []realtime.Event
	replayOK := true
	if after != nil && *after >= 0 {
		replay, replayOK, err = bus.Since(ctx, viewer.FromContext(ctx).TenantID, uint64(*after))
		if err != nil {
			sub.Close()
			return nil, err
		}
		last = uint64(*after)
		overlap = replayOK
	}
	go func() {
		defer close(out)
		defer sub.Close()
		if !replayOK {
			select {
			case out <- resync(last):
			case <-ctx.Done():
				return
			}
		}
		for _, e := range replay {
			if !emit(e, false) {
				return
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.Events():
				if !ok || !emit(e, true) {
					return
				}
			case <-sub.Resync():
				select {
				case out <- resync(last):
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// ticker coalesces a stream of "something changed" into at most one
// recomputation per period: for state-like subscriptions (dashboard).
func ticker[T any](ctx context.Context, bus realtime.Bus, period time.Duration, types []string,
	compute func(ctx context.Context) (T, error)) (<-chan T, error) {
	// Subscribe first, so that no change made while computing is missed.
	sub, err := subscribe(ctx, bus)
	if err != nil {
		return nil, err
	}
	first, err := compute(ctx)
	if err != nil {
		sub.Close()
		return nil, err
	}
	out := make(chan T, 1)
	out <- first
	go func() {
		defer close(out)
		defer sub.Close()
		t := time.NewTicker(period)
		defer t.Stop()
		dirty := false
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.Events():
				if !ok {
					return
				}
				if realtime.Revokes(e) {
					// As a stream: nothing after a revocation before it applies.
					gateway.AwaitRevocation(ctx, e.TenantID, e.Seq)
				}
				dirty = dirty || slices.Contains(types, e.Type)
			case <-sub.Resync():
				dirty = true
			case <-t.C:
				if !dirty {
					continue
				}
				next, err := compute(ctx)
				if err != nil {
					continue // still dirty: the next tick retries
				}
				dirty = false
				select {
				case out <- next:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// invisible reports whether a load failed because the subscriber may not see
// the subject, or it is gone, rather than because it could not be read.
func invisible(err error) bool {
	code, _, _ := classify(err)
	return code == apperr.NotFound || code == apperr.Forbidden
}
