package routing

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Follow drains a tenant's queue as soon as capacity may have freed (an
// agent's presence changed, a conversation was resolved, transferred or
// unassigned, an agent's capacity, teams or numbers changed), on whichever
// instance the change happened: the events come over the bus. Every instance
// runs it; they race harmlessly (see Drain). Every sweep it also drains the
// tenants that still have a queue, in case an event was lost. It returns
// once subscribed; the work goes on until ctx ends.
func (s *Service) Follow(ctx context.Context, bus realtime.Bus, sweep time.Duration, log *slog.Logger) error {
	sub, err := bus.Subscribe(ctx, "")
	if err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		pending = map[string]bool{}
		wake    = make(chan struct{}, 1)
	)
	mark := func(tenants ...string) {
		mu.Lock()
		for _, t := range tenants {
			pending[t] = true
		}
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	go func() {
		defer sub.Close()
		tick := time.NewTicker(sweep)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.Events():
				if !ok {
					return
				}
				if freesCapacity(e) {
					mark(e.TenantID)
				}
			case <-sub.Resync():
				tick.Reset(time.Millisecond)
			case <-tick.C:
				tick.Reset(sweep)
				tenants, err := s.tenantsWaiting(ctx)
				if err != nil {
					log.Warn("routing: list queues", "err", err)
					continue
				}
				mark(tenants...)
			}
		}
	}()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
			mu.Lock()
			tenants := pending
			pending = map[string]bool{}
			mu.Unlock()
			for t := range tenants {
				if _, err := s.Drain(viewer.System(ctx, t)); err != nil && ctx.Err() == nil {
					log.Warn("routing: drain", "tenant", t, "err", err)
				}
			}
		}
	}()
	return nil
}

// freesCapacity tells whether an event may let someone take a waiting
// conversation.
func freesCapacity(e realtime.Event) bool {
	switch e.Type {
	case realtime.AgentPresenceChanged, realtime.AgentChanged:
		return true
	case realtime.ConversationChanged:
		switch c := e.Change(); c.Kind {
		case realtime.KindStatusChanged, realtime.KindTransferred:
			return true
		case realtime.KindAssigned:
			return c.Cause != "POLICY" // routing's own assignments take places, they free none
		}
	}
	return false
}

// tenantsWaiting lists the tenants with a non-empty queue.
func (s *Service) tenantsWaiting(ctx context.Context) ([]string, error) {
	return queued(s.client.Conversation.Query()).Unique(true).
		Select(conversation.FieldTenantID).Strings(viewer.Platform(ctx))
}
