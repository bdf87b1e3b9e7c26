package graph

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/viewer"
)

// eventRows reads the conversation of a live event once, whatever the
// number of executions showing it (subscribers with different decisions or
// scopes each run their own): the first execution asks for the row, the
// others wait for it and take a copy. Each then decides in memory whether
// its viewer may see it (visibleConversation, the row scope of
// ent/schema/scope.go), and its fields go through the field guard as any
// other. A viewer whose scope needs a database read to decide (numbers not
// pinned) loads the row through the privacy rules, as before.
//
// The rows asked for while a read of their tenant runs are read together by
// the next one (a group commit for reads: no timer, so an event alone is read
// at once; at most two reads of a tenant run at once, so one slow statement
// does not hold the others): under a burst, a subscriber's stream fetches
// several events at once (streamFetch), and their conversations, with their
// last messages when a subscriber selects them, cost two statements instead
// of two per event.
//
// A row is kept for the executions of its event that run within moments of
// each other: a second later (a replay, a resumed or lagging subscriber) it
// is read again, so a decision is never made on an old row. The last message
// read with it, as the system, goes only to the executions that asked before
// it was read: a later one reads it as its viewer (it may have been deleted
// or erased since, and the tombstone must hide it).
type eventRows struct {
	mu    sync.Mutex
	rows  map[eventRowKey]*eventRow
	order []eventRowKey // oldest first
	// reads are the tenants whose rows are being read: what waits for the
	// next read of each.
	reads map[string]*tenantRead
	// fresh is how long a row read serves its event's executions.
	fresh time.Duration
}

const (
	eventRowsKept = 256
	// eventRowsRead is the most conversations one statement reads.
	eventRowsRead = 64
	// eventRowsReaders is the most reads of one tenant at once.
	eventRowsReaders = 2
	// eventRowsTimeout bounds a read: its waiters get its error (a resync).
	eventRowsTimeout = 15 * time.Second
)

type eventRowKey struct {
	tenantID string
	seq      uint64
	id       string
}

type eventRow struct {
	id       string
	withLast bool // its last message is read too
	done     chan struct{}
	// set before done is closed:
	conv   *ent.Conversation
	err    error
	readAt time.Time
}

// tenantRead is what waits for a tenant's next read.
type tenantRead struct {
	client  *ent.Client
	readers int
	waiting []*eventRow
}

func newEventRows() *eventRows {
	return &eventRows{rows: map[eventRowKey]*eventRow{}, reads: map[string]*tenantRead{}, fresh: time.Second}
}

// conversation returns the conversation of event e as ctx's viewer may see
// it: an error that invisible() recognises when they may not. withLast asks
// for its last message too, in Edges.LastMessage (where the generated
// resolver takes it without a query); it may come without it (asked for by
// another execution without it, or read before this one asked), so the
// caller checks with Edges.LastMessageOrErr.
func (r *eventRows) conversation(ctx context.Context, client *ent.Client, e realtime.Event, withLast bool) (*ent.Conversation, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.TenantID != e.TenantID || !decidesInMemory(v.Scope) {
		return client.Conversation.Get(ctx, e.Subject)
	}
	key := eventRowKey{e.TenantID, e.Seq, e.Subject}
	r.mu.Lock()
	row, ok := r.rows[key]
	asked := true // asked for before the row was read
	if ok {
		select {
		case <-row.done:
			asked = false
			if time.Since(row.readAt) > r.fresh {
				ok = false // read again
			}
		default:
		}
	}
	if !ok {
		asked = true
		if _, kept := r.rows[key]; !kept {
			r.order = append(r.order, key)
		}
		row = &eventRow{id: e.Subject, withLast: withLast, done: make(chan struct{})}
		r.rows[key] = row
		if len(r.order) > eventRowsKept {
			delete(r.rows, r.order[0])
			r.order = slices.Delete(r.order, 0, 1)
		}
		read := r.reads[e.TenantID]
		if read == nil {
			read = &tenantRead{client: client}
			r.reads[e.TenantID] = read
		}
		read.waiting = append(read.waiting, row)
		if read.readers < eventRowsReaders {
			read.readers++
			go r.read(e.TenantID, read)
		}
	}
	r.mu.Unlock()
	select {
	case <-row.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if row.err != nil {
		return nil, row.err
	}
	if !visibleConversation(v, row.conv) {
		return nil, apperr.New(apperr.NotFound, "conversation not found")
	}
	c := *row.conv // each execution its own copy: resolvers may fill its edges
	switch m := row.conv.Edges.LastMessage; {
	case m == nil:
	case !asked || m.ConversationID != c.ID || m.TenantID != c.TenantID:
		// read before this execution asked, or not the row's own: the
		// resolver reads it as the viewer (a message follows its
		// conversation's row scope, scope.go)
		c.Edges = ent.ConversationEdges{}
	default:
		mc := *m
		c.Edges.LastMessage = &mc
	}
	return &c, nil
}

// read reads, as the system viewer of tenantID, what waits for read, a few
// dozen rows a statement, until nothing does.
func (r *eventRows) read(tenantID string, read *tenantRead) {
	for {
		r.mu.Lock()
		batch := read.waiting[:min(len(read.waiting), eventRowsRead)]
		read.waiting = read.waiting[len(batch):]
		if len(batch) == 0 {
			if read.readers--; read.readers == 0 {
				delete(r.reads, tenantID)
			}
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		ids := make([]string, 0, len(batch))
		withLast := false
		for _, row := range batch {
			if !slices.Contains(ids, row.id) {
				ids = append(ids, row.id)
			}
			withLast = withLast || row.withLast
		}
		q := read.client.Conversation.Query().Where(conversation.IDIn(ids...))
		if withLast {
			q.WithLastMessage()
		}
		ctx, cancel := context.WithTimeout(viewer.System(context.Background(), tenantID), eventRowsTimeout)
		convs, err := q.All(ctx)
		cancel()
		now := time.Now()
		for _, row := range batch {
			row.err, row.readAt = err, now
			if err == nil {
				i := slices.IndexFunc(convs, func(c *ent.Conversation) bool { return c.ID == row.id })
				if i < 0 {
					row.err = apperr.New(apperr.NotFound, "conversation not found")
				} else {
					row.conv = convs[i]
				}
			}
			close(row.done)
		}
	}
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
