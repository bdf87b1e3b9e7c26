package graph

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// heldReads, once armed, holds every read of the conversations table until
// release is closed, counting the reads it holds.
type heldReads struct {
	*storetest.Counter // the statements, and the driver's other methods
	armed              atomic.Bool
	held               atomic.Int32
	release            chan struct{}
	free               func() // closes release, once
}

func (h *heldReads) Query(ctx context.Context, query string, args, v any) error {
	if h.armed.Load() && (strings.Contains(query, `FROM "conversations"`) || strings.Contains(query, "FROM `conversations`")) {
		h.held.Add(1)
		<-h.release
	}
	return h.Counter.Query(ctx, query, args, v)
}

// eventRowsFixture is a tenant with ten conversations, each with a last
// message, on a SQLite database whose statements are counted.
type eventRowsFixture struct {
	held   *heldReads
	client *ent.Client
	tenant string
	convs  []*ent.Conversation
	lasts  []string
	owner  context.Context // a viewer who sees every conversation
}

func newEventRowsFixture(t *testing.T) *eventRowsFixture {
	t.Helper()
	held := &heldReads{Counter: new(storetest.Counter), release: make(chan struct{})}
	held.free = sync.OnceFunc(func() { close(held.release) })
	t.Cleanup(held.free) // a failure above the release holds no read
	db := storetest.Open(t, dialect.SQLite, store.WithDriver(func(d dialect.Driver) dialect.Driver {
		held.Wrap(d)
		return held
	}))
	c := db.Client
	ten := c.Tenant.Create().SetName("Acme").SetSlug("acme").SaveX(viewer.Platform(t.Context()))
	sys := viewer.System(t.Context(), ten.ID)
	num := c.Number.Create().SetPhone("+33100000001").SetDisplayName("Main").SaveX(sys)
	f := &eventRowsFixture{held: held, client: c, tenant: ten.ID,
		owner: viewer.NewContext(t.Context(), &viewer.Viewer{Kind: viewer.KindAgent, TenantID: ten.ID, AgentID: "agt_owner",
			Scope: viewer.Scope{AllConversations: true}})}
	for i := range 10 {
		ct := c.Contact.Create().SetWaID(fmt.Sprint(33600000000 + i)).SaveX(sys)
		conv := c.Conversation.Create().SetNumberID(num.ID).SetContactID(ct.ID).SaveX(sys)
		m := c.Message.Create().SetConversationID(conv.ID).SetNumberID(num.ID).SetDirection(message.DirectionINBOUND).
			SetBody(fmt.Sprint("hello ", i)).SaveX(sys)
		conv = conv.Update().SetLastMessageID(m.ID).SaveX(sys)
		f.convs, f.lasts = append(f.convs, conv), append(f.lasts, m.ID)
	}
	return f
}

func (f *eventRowsFixture) event(i int) realtime.Event {
	return realtime.Event{TenantID: f.tenant, Seq: uint64(100 + i), Type: realtime.ConversationChanged, Subject: f.convs[i].ID}
}

// The conversations of events asked for while a read runs are read together
// by the next one, with their last messages when asked: ten events cost at
// most five statements (the first event's read, then the others'
// conversations and their last messages in at most two reads), not twenty.
// Each caller gets its own copy of its event's row, and each viewer's row
// scope still decides in memory what it sees. A second later, the row is
// read again.
func TestEventRowsAreReadTogether(t *testing.T) {
	t.Parallel()
	f := newEventRowsFixture(t)
	assigned := viewer.NewContext(t.Context(), &viewer.Viewer{Kind: viewer.KindAgent, TenantID: f.tenant, AgentID: "agt_nobody",
		Scope: viewer.Scope{AssignedConversations: true}})
	rows := newEventRows()
	rows.fresh = time.Hour // however slow the machine, the rows stay fresh until the test says otherwise
	f.held.Reset()
	f.held.armed.Store(true)
	type result struct {
		conv *ent.Conversation
		err  error
	}
	results := make([]result, 10)
	var wg sync.WaitGroup
	wg.Go(func() { results[0].conv, results[0].err = rows.conversation(f.owner, f.client, f.event(0), false) })
	require.Eventually(t, func() bool { return f.held.held.Load() == 1 }, 10*time.Second, time.Millisecond,
		"the first event's read never started")
	for i := 1; i < 10; i++ {
		wg.Go(func() { results[i].conv, results[i].err = rows.conversation(f.owner, f.client, f.event(i), true) })
	}
	require.Eventually(t, func() bool {
		rows.mu.Lock()
		defer rows.mu.Unlock()
		return len(rows.rows) == 10
	}, 10*time.Second, time.Millisecond, "the nine other events ask for their rows")
	f.held.armed.Store(false)
	f.held.free()
	wg.Wait()
	statements := f.held.Statements()
	all := strings.Join(statements, "\n")
	require.LessOrEqual(t, storetest.CountIn(statements, `FROM "conversations"`), 3, all)
	require.LessOrEqual(t, storetest.CountIn(statements, `FROM "messages"`), 2, all)
	require.Len(t, statements, storetest.CountIn(statements, `FROM "conversations"`)+storetest.CountIn(statements, `FROM "messages"`), all)

	for i, r := range results {
		require.NoError(t, r.err)
		require.Equal(t, f.convs[i].ID, r.conv.ID)
		last, err := r.conv.Edges.LastMessageOrErr()
		if i == 0 {
			require.True(t, ent.IsNotLoaded(err), "the first event did not ask for its last message")
			continue
		}
		require.NoError(t, err)
		require.Equal(t, f.lasts[i], last.ID)
	}

	// Another execution of event 5: the row is not read again, its copy is
	// its own, without the last message read before it asked (its resolver
	// reads it as its viewer), and a viewer who sees only their assigned
	// conversations does not see it.
	f.held.Reset()
	again, err := rows.conversation(f.owner, f.client, f.event(5), true)
	require.NoError(t, err)
	require.NotSame(t, results[5].conv, again)
	_, err = again.Edges.LastMessageOrErr()
	require.True(t, ent.IsNotLoaded(err), "a last message read before the execution asked: %v", err)
	_, err = rows.conversation(assigned, f.client, f.event(5), true)
	require.True(t, invisible(err), "%v", err)
	require.Zero(t, f.held.Count(), "\n%s", strings.Join(f.held.Statements(), "\n"))

	// Once the row is old, it is read again, with its last message.
	rows.mu.Lock()
	rows.fresh = 0
	rows.mu.Unlock()
	again, err = rows.conversation(f.owner, f.client, f.event(5), true)
	require.NoError(t, err)
	last, err := again.Edges.LastMessageOrErr()
	require.NoError(t, err)
	require.Equal(t, f.lasts[5], last.ID)
	require.Equal(t, 2, f.held.Count(), "\n%s", strings.Join(f.held.Statements(), "\n"))
}

// A last message deleted (a customer's revoke, deleteMessage) or erased after
// its event was read is not served from the event's row to a later execution
// (a replay, a resumed or lagging subscriber): the tombstone hides it, as a
// read as the viewer would (found by session 11's review).
func TestEventRowsDoNotOutliveATombstone(t *testing.T) {
	t.Parallel()
	f := newEventRowsFixture(t)
	rows := newEventRows()
	first, err := rows.conversation(f.owner, f.client, f.event(3), true)
	require.NoError(t, err)
	require.Equal(t, f.lasts[3], first.Edges.LastMessage.ID)

	sys := viewer.System(t.Context(), f.tenant)
	f.client.Message.UpdateOneID(f.lasts[3]).SetDeletedAt(time.Now()).ClearBody().ExecX(sys)
	for _, fresh := range []time.Duration{time.Hour, 0} { // the row kept, then read again
		rows.mu.Lock()
		rows.fresh = fresh
		rows.mu.Unlock()
		again, err := rows.conversation(f.owner, f.client, f.event(3), true)
		require.NoError(t, err)
		last, err := again.Edges.LastMessageOrErr()
		if ent.IsNotLoaded(err) {
			continue // the resolver reads it as the viewer
		}
		require.NoError(t, err)
		require.NotNil(t, last.DeletedAt, "fresh %v: the message as it was before its deletion", fresh)
		body, err := (&messageResolver{}).Body(f.owner, last)
		require.NoError(t, err)
		require.Nil(t, body, "fresh %v: the body of a deleted message", fresh)
	}
}
