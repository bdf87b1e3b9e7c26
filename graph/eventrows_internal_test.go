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

// heldReads, once armed, holds the first read of the conversations table
// until release is closed, telling entered once it is held.
type heldReads struct {
	*storetest.Counter // the statements, and the driver's other methods
	armed              atomic.Bool
	once               sync.Once
	entered, release   chan struct{}
}

func (h *heldReads) Query(ctx context.Context, query string, args, v any) error {
	if h.armed.Load() && (strings.Contains(query, `FROM "conversations"`) || strings.Contains(query, "FROM `conversations`")) {
		first := false
		h.once.Do(func() { first = true })
		if first {
			close(h.entered)
			<-h.release
		}
	}
	return h.Counter.Query(ctx, query, args, v)
}

// The conversations of events asked for while a read runs are read together
// by the next one, with their last messages when asked: ten events cost
// three statements (the first event's read, then one for the nine others'
// conversations and one for their last messages), not ten or twenty. Each
// caller gets its own copy of its event's row, and each viewer's row scope
// still decides in memory what it sees.
func TestEventRowsAreReadTogether(t *testing.T) {
	t.Parallel()
	counter := new(storetest.Counter)
	held := &heldReads{Counter: counter, entered: make(chan struct{}), release: make(chan struct{})}
	release := sync.OnceFunc(func() { close(held.release) })
	t.Cleanup(release)
	db := storetest.Open(t, dialect.SQLite, store.WithDriver(func(d dialect.Driver) dialect.Driver {
		counter.Wrap(d)
		return held
	}))
	c := db.Client
	ten := c.Tenant.Create().SetName("Acme").SetSlug("acme").SaveX(viewer.Platform(t.Context()))
	sys := viewer.System(t.Context(), ten.ID)
	num := c.Number.Create().SetPhone("+33100000001").SetDisplayName("Main").SaveX(sys)
	var convs []*ent.Conversation
	var lasts []string
	for i := range 10 {
		ct := c.Contact.Create().SetWaID(fmt.Sprint(33600000000 + i)).SaveX(sys)
		conv := c.Conversation.Create().SetNumberID(num.ID).SetContactID(ct.ID).SaveX(sys)
		m := c.Message.Create().SetConversationID(conv.ID).SetNumberID(num.ID).SetDirection(message.DirectionINBOUND).
			SetBody(fmt.Sprint("hello ", i)).SaveX(sys)
		conv = conv.Update().SetLastMessageID(m.ID).SaveX(sys)
		convs, lasts = append(convs, conv), append(lasts, m.ID)
	}
	owner := viewer.NewContext(t.Context(), &viewer.Viewer{Kind: viewer.KindAgent, TenantID: ten.ID, AgentID: "agt_owner",
		Scope: viewer.Scope{AllConversations: true}})
	assigned := viewer.NewContext(t.Context(), &viewer.Viewer{Kind: viewer.KindAgent, TenantID: ten.ID, AgentID: "agt_nobody",
		Scope: viewer.Scope{AssignedConversations: true}})
	event := func(i int) realtime.Event {
		return realtime.Event{TenantID: ten.ID, Seq: uint64(100 + i), Type: realtime.ConversationChanged, Subject: convs[i].ID}
	}

	rows := newEventRows()
	counter.Reset()
	held.armed.Store(true)
	type result struct {
		conv *ent.Conversation
		err  error
	}
	results := make([]result, 10)
	var wg sync.WaitGroup
	wg.Go(func() { results[0].conv, results[0].err = rows.conversation(owner, c, event(0), false) })
	select {
	case <-held.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first event's read never started")
	}
	for i := 1; i < 10; i++ {
		wg.Go(func() { results[i].conv, results[i].err = rows.conversation(owner, c, event(i), true) })
	}
	require.Eventually(t, func() bool {
		rows.mu.Lock()
		defer rows.mu.Unlock()
		read := rows.reads[ten.ID]
		return read != nil && len(read.waiting) == 9
	}, 10*time.Second, time.Millisecond, "the nine other events wait for the next read")
	release()
	wg.Wait()
	statements := counter.Statements()
	require.Equal(t, 2, countIn(statements, "FROM `conversations`"), "\n%s", strings.Join(statements, "\n"))
	require.Equal(t, 1, countIn(statements, "FROM `messages`"), "\n%s", strings.Join(statements, "\n"))
	require.Len(t, statements, 3)

	for i, r := range results {
		require.NoError(t, r.err)
		require.Equal(t, convs[i].ID, r.conv.ID)
		last, err := r.conv.Edges.LastMessageOrErr()
		if i == 0 {
			require.True(t, ent.IsNotLoaded(err), "the first event did not ask for its last message")
			continue
		}
		require.NoError(t, err)
		require.Equal(t, lasts[i], last.ID)
	}

	// Another execution of event 5: the row is not read again, its copy is
	// its own, and a viewer who sees only their assigned conversations does
	// not see it.
	counter.Reset()
	again, err := rows.conversation(owner, c, event(5), true)
	require.NoError(t, err)
	require.NotSame(t, results[5].conv, again)
	require.NotSame(t, results[5].conv.Edges.LastMessage, again.Edges.LastMessage)
	_, err = rows.conversation(assigned, c, event(5), true)
	require.True(t, invisible(err), "%v", err)
	require.Zero(t, counter.Count(), "\n%s", strings.Join(counter.Statements(), "\n"))
}

func countIn(statements []string, part string) int {
	n := 0
	for _, s := range statements {
		if strings.Contains(s, part) {
			n++
		}
	}
	return n
}
