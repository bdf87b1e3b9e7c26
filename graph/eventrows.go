package graph

import (
	"context"
	"slices"
	"sync"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/viewer"
)

// eventRows reads the conversation of a live event once, whatever the
// number of executions showing it (subscribers with different decisions or
// scopes each run their own): the first execution reads the row, the others
// wait for it and take a copy. Each then decides in memory whether its
// viewer may see it (visibleConversation, the row scope of
// ent/schema/scope.go), and its fields go through the field guard as any
// other. A viewer whose scope needs a database read to decide (numbers not
// pinned) loads the row through the privacy rules, as before.
//
// Only the last few events are kept: executions of one event run within
// moments of each other.
type eventRows struct {
	mu    sync.Mutex
	rows  map[eventRowKey]*eventRow
	order []eventRowKey // oldest first
}

const eventRowsKept = 256

type eventRowKey struct {
	tenantID string
	seq      uint64
	id       string
}

type eventRow struct {
	done chan struct{}
	conv *ent.Conversation
	err  error
}

func newEventRows() *eventRows { return &eventRows{rows: map[eventRowKey]*eventRow{}} }

// conversation returns the conversation of event e as ctx's viewer may see
// it: an error that invisible() recognises when they may not.
func (r *eventRows) conversation(ctx context.Context, client *ent.Client, e realtime.Event) (*ent.Conversation, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.TenantID != e.TenantID || !decidesInMemory(v.Scope) {
		return client.Conversation.Get(ctx, e.Subject)
	}
	key := eventRowKey{e.TenantID, e.Seq, e.Subject}
	r.mu.Lock()
	row, ok := r.rows[key]
	if !ok {
		row = &eventRow{done: make(chan struct{})}
		r.rows[key] = row
		r.order = append(r.order, key)
		if len(r.order) > eventRowsKept {
			delete(r.rows, r.order[0])
			r.order = slices.Delete(r.order, 0, 1)
		}
	}
	r.mu.Unlock()
	if !ok {
		row.conv, row.err = client.Conversation.Get(viewer.System(context.WithoutCancel(ctx), e.TenantID), e.Subject)
		close(row.done)
	} else {
		select {
		case <-row.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if row.err != nil {
		return nil, row.err
	}
	if !visibleConversation(v, row.conv) {
		return nil, apperr.New(apperr.NotFound, "conversation not found")
	}
	c := *row.conv // each execution its own copy: resolvers may fill its edges
	return &c, nil
}

// decidesInMemory reports whether visibleConversation can decide for scope
// without reading the database.
func decidesInMemory(s viewer.Scope) bool {
	return s.AllConversations || !s.NumberConversations || s.NumbersPinned
}

// visibleConversation is conversationScope (ent/schema/scope.go) for one
// row in memory; decidesInMemory(v.Scope) must hold.
func visibleConversation(v *viewer.Viewer, c *ent.Conversation) bool {
	s := v.Scope
	switch {
	case c.TenantID != v.TenantID:
		return false
	case s.AllConversations:
		return true
	case s.AssignedConversations && v.AgentID != "" && c.AssigneeID != nil && *c.AssigneeID == v.AgentID:
		return true
	case s.NumberConversations && s.NumbersPinned:
		_, found := slices.BinarySearch(s.Numbers, c.NumberID)
		return found
	}
	return false
}
