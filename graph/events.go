package graph

import (
	"context"
	"slices"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

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
// decide what it may load; the field guard then applies to the payload. Each
// load runs once the one before it is done (streamFetch overlaps them).
func stream[T any](ctx context.Context, bus realtime.Bus, after *int, types []string,
	load func(ctx context.Context, e realtime.Event) (T, bool, error), resync func(seq uint64) T) (<-chan T, error) {
	return streamFetch(ctx, bus, after, types, func(ctx context.Context, e realtime.Event) (fetch[T], error) {
		item, ok, err := load(ctx, e)
		return func(context.Context) (T, bool, error) { return item, ok, err }, nil
	}, 1, resync)
}

// eventFetches is how many events of a conversation or message stream are
// read at once.
const eventFetches = 8

// selects tells whether the subscription being resolved selects the field
// at path (fragments included), under the field it resolves.
func selects(ctx context.Context, path ...string) bool {
	fc := graphql.GetFieldContext(ctx)
	oc := graphql.GetOperationContext(ctx)
	if fc == nil || oc == nil {
		return false
	}
	set := fc.Field.Selections
	for _, name := range path {
		var next ast.SelectionSet
		for _, f := range graphql.CollectFields(oc, set, nil) {
			if f.Name == name {
				next = append(next, f.Selections...)
			}
		}
		if next == nil {
			return false
		}
		set = next
	}
	return true
}

// fetch reads what an event shows its subscriber (see stream's load).
type fetch[T any] func(ctx context.Context) (T, bool, error)

// streamFetch is stream whose loads overlap: decide runs for each event in
// order (what it keeps, an audience say, is the next event's to see) and
// returns the event's fetch, or nil when it is not for the subscriber; up to
// depth fetches run at once, and their outputs go out in the events' order.
// A subscriber's events are read from the database concurrently rather than
// one round trip after the other: at a few hundred events a second one at a
// time is the whole budget of an execution (webhook → subscriber latency
// grew to seconds behind it on Postgres). A revocation is a barrier: what
// came before it goes out, it applies, and only then is what follows it
// decided and fetched.
func streamFetch[T any](ctx context.Context, bus realtime.Bus, after *int, types []string,
	decide func(ctx context.Context, e realtime.Event) (fetch[T], error), depth int, resync func(seq uint64) T) (<-chan T, error) {
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
	// inFlight are the events decided and not yet sent, oldest first.
	var inFlight []*pendingItem[T]
	// send sends the oldest, once fetched; false: the subscriber left.
	send := func() bool {
		p := inFlight[0]
		select {
		case <-p.done:
		case <-ctx.Done():
			return false
		}
		inFlight = inFlight[1:]
		item := p.item
		switch {
		case p.err != nil && invisible(p.err):
			return true // not visible to this subscriber (or gone): skip
		case ctx.Err() != nil:
			return false // the subscriber left
		case p.err != nil:
			item = resync(p.seq) // not read (e.g. the database failed): reload rather than lose it
		case !p.ok:
			return true
		}
		select {
		case out <- item:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// queue adds p to what goes out, sending the oldest first while depth
	// are in flight.
	queue := func(p *pendingItem[T]) bool {
		for len(inFlight) >= max(depth, 1) {
			if !send() {
				return false
			}
		}
		inFlight = append(inFlight, p)
		return true
	}
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
			for len(inFlight) > 0 {
				if !send() {
					return false
				}
			}
			gateway.AwaitRevocation(ctx, e.TenantID, e.Seq)
			if ctx.Err() != nil {
				return false
			}
		}
		if !slices.Contains(types, e.Type) {
			return true
		}
		f, err := decide(ctx, e)
		if err == nil && f == nil {
			return true // not for this subscriber
		}
		p := &pendingItem[T]{seq: e.Seq, done: make(chan struct{})}
		if err != nil || depth <= 1 {
			if err == nil {
				p.item, p.ok, p.err = f(ctx)
			} else {
				p.err = err
			}
			close(p.done)
			// sent now: one at a time, nothing waits behind it
			return queue(p) && (depth > 1 || send())
		}
		go func() {
			p.item, p.ok, p.err = f(ctx)
			close(p.done)
		}()
		return queue(p)
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
			var next <-chan struct{} // the oldest in flight, when fetched
			if len(inFlight) > 0 {
				next = inFlight[0].done
			}
			select {
			case <-ctx.Done():
				return
			case <-next:
				if !send() {
					return
				}
			case e, ok := <-sub.Events():
				if !ok || !emit(e, true) {
					return
				}
			case <-sub.Resync():
				p := &pendingItem[T]{seq: last, item: resync(last), ok: true, done: make(chan struct{})}
				close(p.done)
				if !queue(p) {
					return
				}
			}
		}
	}()
	return out, nil
}

// pendingItem is an event of a stream decided and being fetched: done is
// closed once item, ok and err are set.
type pendingItem[T any] struct {
	seq  uint64
	done chan struct{}
	item T
	ok   bool
	err  error
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
