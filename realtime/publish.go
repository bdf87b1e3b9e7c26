package realtime

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Publisher publishes a transaction's events once it commits, and never for
// a transaction that rolls back. A nil Publisher publishes nothing (seeding,
// tools).
//
// With an Outbox (SetOutbox), the events are also handed to it inside the
// transaction, just before it commits, so that what must survive a crash
// (outbound webhook deliveries) is written with the change or not at all.
type Publisher struct {
	bus    Bus
	log    *slog.Logger
	outbox Outbox

	mu      sync.Mutex
	pending map[*ent.Tx]*txEvents // per open transaction
}

// txEvents are a transaction's events: those of the segments closed
// (Segment), in order, then the current segment's, later calls first.
type txEvents struct {
	closed, current []Event
}

// Outbox takes a transaction's events before it commits: what it writes
// through tx commits with the change. An error rolls the change back.
type Outbox interface {
	Enqueue(ctx context.Context, tx *ent.Tx, events []Event) error
}

// NewPublisher returns a Publisher onto bus.
func NewPublisher(bus Bus, log *slog.Logger) *Publisher {
	return &Publisher{bus: bus, log: log, pending: map[*ent.Tx]*txEvents{}}
}

// SetOutbox makes o receive every transaction's events before it commits.
// Call it while building, before any transaction publishes.
func (p *Publisher) SetOutbox(o Outbox) { p.outbox = o }

// Segment closes the events registered on tx so far: they are published
// before any registered after it, whatever the order within each segment.
// A transaction that records several independent changes (a batch of
// webhooks) opens a segment for each, so that they are published in the
// order they were made.
func (p *Publisher) Segment(tx *ent.Tx) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if list, open := p.pending[tx]; open {
		list.closed = append(list.closed, list.current...)
		list.current = nil
	}
}

// OnCommit publishes events after tx commits. Events of later calls on the
// same transaction are published first (ent runs the commit hooks registered
// last innermost): a service that wants its event seen after another's
// registers it first.
func (p *Publisher) OnCommit(tx *ent.Tx, events ...Event) {
	if p == nil || len(events) == 0 {
		return
	}
	p.mu.Lock()
	list, open := p.pending[tx]
	if !open {
		list = new(txEvents)
		p.pending[tx] = list
	}
	list.current = append(append([]Event(nil), events...), list.current...)
	p.mu.Unlock()
	if open {
		return
	}
	forget := func() {
		p.mu.Lock()
		delete(p.pending, tx)
		p.mu.Unlock()
	}
	tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
		return ent.RollbackFunc(func(ctx context.Context, tx *ent.Tx) error {
			forget()
			return next.Rollback(ctx, tx)
		})
	})
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			p.mu.Lock()
			events := slices.Concat(list.closed, list.current)
			p.mu.Unlock()
			if err := addAudience(ctx, tx, events); err != nil {
				// Not worth the change: without an audience every
				// subscriber loads the event, as before.
				p.log.WarnContext(ctx, "realtime: event audience", "err", err)
			}
			if p.outbox != nil {
				if err := p.outbox.Enqueue(ctx, tx, events); err != nil {
					// Nothing is half-kept: the change goes with its deliveries.
					_ = tx.Rollback()
					return fmt.Errorf("outbox: %w", err)
				}
			}
			err := next.Commit(ctx, tx)
			forget()
			if err != nil {
				return err
			}
			for _, e := range events {
				if _, err := p.bus.Publish(context.WithoutCancel(ctx), e); err != nil {
					// The change is committed; a lost event makes screens stale
					// until their next resync, so it is worth a log line.
					p.log.ErrorContext(ctx, "realtime: publish", "type", e.Type, "subject", e.Subject, "err", err)
				}
			}
			return nil
		})
	})
}

// addAudience writes into each ConversationChanged event the conversation's
// number and assignee as tx leaves them, read in tx just before it commits
// (as the system: the writer may not see the conversation any more, e.g.
// after transferring it away), one statement per tenant for all the events
// of the transaction. Subscribers then tell in memory whose screens an event
// may concern (graph's audience) instead of loading it for every one of them.
func addAudience(ctx context.Context, tx *ent.Tx, events []Event) error {
	ids := map[string][]string{} // by tenant, the conversations to read
	for _, e := range events {
		if e.Type == ConversationChanged && e.Change().NumberID == "" && !slices.Contains(ids[e.TenantID], e.Subject) {
			ids[e.TenantID] = append(ids[e.TenantID], e.Subject)
		}
	}
	type audience struct {
		ID         string  `json:"id"`
		NumberID   string  `json:"number_id"`
		AssigneeID *string `json:"assignee_id"`
	}
	found := map[string]audience{}
	for tenantID, convs := range ids {
		var rows []audience
		err := tx.Conversation.Query().Where(conversation.IDIn(convs...)).
			Select(conversation.FieldID, conversation.FieldNumberID, conversation.FieldAssigneeID).
			Scan(viewer.System(ctx, tenantID), &rows)
		if err != nil {
			return err
		}
		for _, r := range rows {
			found[r.ID] = r
		}
	}
	for i, e := range events {
		if e.Type != ConversationChanged {
			continue
		}
		c := e.Change()
		r, ok := found[e.Subject]
		if c.NumberID != "" || !ok {
			continue // known, or gone: the audience stays unknown
		}
		c.NumberID = r.NumberID
		if r.AssigneeID != nil {
			c.AssigneeID = *r.AssigneeID
		}
		events[i] = e.WithChange(c)
	}
	return nil
}
