package dashboard_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/dashboard"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

type world struct {
	db      *store.DB
	ctx     context.Context
	tenant  string
	numbers []string
	agents  []string
	convs   []string
}

func newWorld(t *testing.T, db *store.DB, slug string, seq int) *world {
	t.Helper()
	ten, err := db.Client.Tenant.Create().SetName(slug).SetSlug(slug).SetTimezone("Europe/Berlin").Save(viewer.Platform(t.Context()))
	require.NoError(t, err)
	w := &world{db: db, ctx: viewer.System(t.Context(), ten.ID), tenant: ten.ID}
	for i := range 3 {
		n, err := db.Client.Number.Create().SetPhone(fmt.Sprintf("+49300000%d%d", seq, i)).SetDisplayName(fmt.Sprintf("N%d", i)).Save(w.ctx)
		require.NoError(t, err)
		w.numbers = append(w.numbers, n.ID)
	}
	for i := range 4 {
		a, err := db.Client.Agent.Create().SetName(fmt.Sprintf("A%d", i)).SetEmail(fmt.Sprintf("a%d@%s.test", i, slug)).
			SetPasswordHash("x").Save(w.ctx)
		require.NoError(t, err)
		w.agents = append(w.agents, a.ID)
	}
	for _, n := range []string{w.numbers[0], w.numbers[2]} {
		require.NoError(t, db.Client.Number.UpdateOneID(n).AddMemberIDs(w.agents[0]).Exec(w.ctx))
	}
	return w
}

// step makes one random change to the conversations, through ent (the
// hooks and the privacy rules) or through raw SQL (which the triggers see
// as well).
func (w *world) step(t *testing.T, rng *rand.Rand, i int) {
	t.Helper()
	c := w.db.Client
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	pick := func() string { return w.convs[rng.IntN(len(w.convs))] }
	switch op := rng.IntN(10); {
	case op < 3 || len(w.convs) < 5:
		w.conversation(t, rng, at)
	case op == 3: // an agent answers: the customer no longer waits
		require.NoError(t, c.Conversation.UpdateOneID(pick()).SetLastMessageAt(at).Exec(w.ctx))
	case op == 4: // the customer writes
		require.NoError(t, c.Conversation.UpdateOneID(pick()).SetLastMessageAt(at).SetLastCustomerMessageAt(at).Exec(w.ctx))
	case op == 5: // assigned, transferred or unassigned
		u := c.Conversation.UpdateOneID(pick())
		if rng.IntN(4) == 0 {
			u.ClearAssignee()
		} else {
			u.SetAssigneeID(w.agents[rng.IntN(len(w.agents))])
		}
		require.NoError(t, u.Exec(w.ctx))
	case op == 6: // resolved, reopened, snoozed
		st := []conversation.Status{conversation.StatusRESOLVED, conversation.StatusOPEN, conversation.StatusPENDING}[rng.IntN(3)]
		u := c.Conversation.UpdateOneID(pick()).SetStatus(st)
		if st == conversation.StatusRESOLVED {
			u.SetResolvedAt(at)
		}
		require.NoError(t, u.Exec(w.ctx))
	case op == 7: // many rows in one raw statement (an offboarding's kind of write)
		_, err := w.db.SQL.ExecContext(w.ctx, `UPDATE conversations SET assignee_id = NULL WHERE tenant_id = $1 AND assignee_id = $2`,
			w.tenant, w.agents[rng.IntN(len(w.agents))])
		require.NoError(t, err)
	case op == 8: // moved to another number
		_, err := w.db.SQL.ExecContext(w.ctx, `UPDATE conversations SET number_id = $1 WHERE id = $2`,
			w.numbers[rng.IntN(len(w.numbers))], pick())
		require.NoError(t, err)
	default: // gone (raw: no message holds it)
		id := pick()
		for _, table := range []string{"report_conversations", "report_samples"} {
			_, err := w.db.SQL.ExecContext(w.ctx, "DELETE FROM "+table+" WHERE conversation_id = $1", id)
			require.NoError(t, err)
		}
		_, err := w.db.SQL.ExecContext(w.ctx, `DELETE FROM conversations WHERE id = $1`, id)
		require.NoError(t, err)
		for j, c := range w.convs {
			if c == id {
				w.convs = append(w.convs[:j], w.convs[j+1:]...)
				break
			}
		}
	}
}

// conversation creates a conversation on a random number with random
// figures (draw).
func (w *world) conversation(t *testing.T, rng *rand.Rand, at time.Time) {
	t.Helper()
	c := w.db.Client
	ct, err := c.Contact.Create().SetWaID(fmt.Sprint(4917000000000 + rng.Int64N(1e9))).Save(w.ctx)
	require.NoError(t, err)
	create := c.Conversation.Create().SetNumberID(w.numbers[rng.IntN(len(w.numbers))]).SetContactID(ct.ID)
	w.draw(create.Mutation(), rng, at)
	conv, err := create.Save(w.ctx)
	require.NoError(t, err)
	w.convs = append(w.convs, conv.ID)
}

// redraw gives a random conversation new random figures (draw).
func (w *world) redraw(t *testing.T, rng *rand.Rand, at time.Time) {
	t.Helper()
	u := w.db.Client.Conversation.UpdateOneID(w.convs[rng.IntN(len(w.convs))])
	w.draw(u.Mutation(), rng, at)
	require.NoError(t, u.Exec(w.ctx))
}

// draw sets what the counters count, at random: a status (open most
// often), an assignee or nobody, and who wrote last, the customer (waiting),
// the business, or the business alone. Clearing is a no-op on a create.
func (w *world) draw(m *ent.ConversationMutation, rng *rand.Rand, at time.Time) {
	st := []conversation.Status{conversation.StatusOPEN, conversation.StatusOPEN, conversation.StatusPENDING,
		conversation.StatusSNOOZED, conversation.StatusRESOLVED}[rng.IntN(5)]
	m.SetStatus(st)
	switch st {
	case conversation.StatusSNOOZED:
		m.SetSnoozedUntil(at.Add(time.Hour))
		m.ClearResolvedAt()
	case conversation.StatusRESOLVED:
		m.SetResolvedAt(at)
		m.ClearSnoozedUntil()
	default:
		m.ClearSnoozedUntil()
		m.ClearResolvedAt()
	}
	if rng.IntN(3) > 0 {
		m.SetAssigneeID(w.agents[rng.IntN(len(w.agents))])
	} else {
		m.ClearAssignee()
	}
	m.SetLastMessageAt(at)
	switch rng.IntN(3) {
	case 0:
		m.SetLastCustomerMessageAt(at)
	case 1:
		m.SetLastCustomerMessageAt(at.Add(-time.Minute))
	default:
		m.ClearLastCustomerMessageAt()
	}
}

// seen is what the counters must say to the viewer of ctx: the open
// conversations that viewer can load through ent, its privacy rules (the
// tenant and the row scope) applied.
func (w *world) seen(t *testing.T, ctx context.Context) dashboard.Counts {
	t.Helper()
	convs, err := w.db.Client.Conversation.Query().Where(conversation.StatusEQ(conversation.StatusOPEN)).All(ctx)
	require.NoError(t, err)
	out := dashboard.Counts{OpenByAgent: map[string]int{}}
	for _, c := range convs {
		out.Open++
		if c.AssigneeID == nil {
			out.Unassigned++
		} else {
			out.OpenByAgent[*c.AssigneeID]++
		}
		if c.LastCustomerMessageAt != nil && c.LastMessageAt != nil && c.LastCustomerMessageAt.Equal(*c.LastMessageAt) {
			out.Waiting++
		}
	}
	return out
}

// read is what the counters say to the viewer of ctx.
func (w *world) read(t *testing.T, ctx context.Context) dashboard.Counts {
	t.Helper()
	got, err := dashboard.Read(ctx, w.db.Client)
	require.NoError(t, err)
	return got
}

// agent is the context of agent i of w with scope s.
func (w *world) agent(i int, s viewer.Scope) context.Context {
	return viewer.NewContext(w.ctx, &viewer.Viewer{Kind: viewer.KindAgent, TenantID: w.tenant, AgentID: w.agents[i], Scope: s})
}

// check compares the counters with what five viewers see: the system, and
// agent 0 (a member of numbers 0 and 2) with four row scopes.
func (w *world) check(t *testing.T, what string) {
	t.Helper()
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{
		{"everything", w.ctx},
		{"assigned", w.agent(0, viewer.Scope{AssignedConversations: true})},
		{"pinned number", w.agent(0, viewer.Scope{NumberConversations: true, NumbersPinned: true, Numbers: w.numbers[1:2]})},
		{"assigned or member numbers", w.agent(0, viewer.Scope{AssignedConversations: true, NumberConversations: true})},
		{"no scope", w.agent(0, viewer.Scope{})},
	} {
		require.Equal(t, w.seen(t, c.ctx), w.read(t, c.ctx), "%s: %s", what, c.name)
	}
}

// The counters equal a recount of the conversations after every kind of
// write, ent's and raw SQL's, whether their deltas are folded or not, and
// two tenants never count in each other's.
func TestCountersEqualARecount(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, b := newWorld(t, db, "acme", 1), newWorld(t, db, "bolt", 2)
		rng := rand.New(rand.NewPCG(7, 11))
		for round := range 6 {
			for i := range 60 {
				a.step(t, rng, round*100+i)
				if i%3 == 0 {
					b.step(t, rng, round*100+i)
				}
			}
			a.check(t, fmt.Sprintf("round %d, pending", round))
			b.check(t, fmt.Sprintf("round %d, pending (other tenant)", round))
			var pending int
			require.NoError(t, db.SQL.QueryRowContext(a.ctx, `SELECT COUNT(*) FROM dashboard_deltas`).Scan(&pending))
			require.Positive(t, pending, "the triggers append deltas")
			_, err := dashboard.Fold(a.ctx, db.Client, db.Dialect, pending/2)
			require.NoError(t, err)
			a.check(t, fmt.Sprintf("round %d, half folded", round))
			a.foldAll(t)
			a.check(t, fmt.Sprintf("round %d, folded", round))
			b.check(t, fmt.Sprintf("round %d, folded (other tenant)", round))
		}
		var zero int
		require.NoError(t, db.SQL.QueryRowContext(a.ctx, `SELECT COUNT(*) FROM dashboard_counts WHERE open = 0 AND unassigned = 0 AND waiting = 0`).Scan(&zero))
		require.Zero(t, zero, "rows that count nothing are removed")
	})
}

// The counters a viewer reads are exactly those of the open conversations
// the privacy rules let them load: random viewers (agents or API keys, row
// scopes, pinned numbers or none, memberships that change) over a few
// hundred random conversations, with deltas pending and folded.
func TestCountersObeyTheRowScope(t *testing.T) {
	t.Parallel()
	const seed = 2026
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rng := rand.New(rand.NewPCG(seed, 1))
		w := newWorld(t, db, "scope", 3)
		start := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		for i := range 200 {
			w.conversation(t, rng, start.Add(time.Duration(i)*time.Second))
		}
		for round := range 4 {
			for i := range 100 {
				at := start.Add(time.Duration(1000*(round+1)+i) * time.Second)
				if i < 30 {
					w.conversation(t, rng, at)
				} else {
					w.redraw(t, rng, at)
				}
			}
			w.shuffleMembers(t, rng)
			viewers := []context.Context{w.ctx}
			for range 40 {
				viewers = append(viewers, w.randomViewer(rng))
			}
			check := func(when string) {
				for _, ctx := range viewers {
					v := viewer.FromContext(ctx)
					require.Equal(t, w.seen(t, ctx), w.read(t, ctx), "seed %d, round %d, %s: viewer kind %d, agent %q, scope %+v",
						seed, round, when, v.Kind, v.AgentID, v.Scope)
				}
			}
			check("pending")
			w.foldAll(t)
			check("folded")
		}
	})
}

// shuffleMembers gives each number of w random members.
func (w *world) shuffleMembers(t *testing.T, rng *rand.Rand) {
	t.Helper()
	for _, n := range w.numbers {
		u := w.db.Client.Number.UpdateOneID(n).ClearMembers()
		for _, a := range w.agents {
			if rng.IntN(2) == 0 {
				u.AddMemberIDs(a)
			}
		}
		require.NoError(t, u.Exec(w.ctx))
	}
}

// randomViewer is an agent of w or an API key with a random row scope.
func (w *world) randomViewer(rng *rand.Rand) context.Context {
	v := &viewer.Viewer{Kind: viewer.KindAgent, TenantID: w.tenant, AgentID: w.agents[rng.IntN(len(w.agents))]}
	if rng.IntN(5) == 0 { // no agent: nothing assigned, no memberships
		v.Kind, v.AgentID, v.APIKeyID = viewer.KindAPIKey, "", "key_1"
	}
	s := &v.Scope
	s.AllConversations = rng.IntN(8) == 0
	s.AssignedConversations = rng.IntN(2) == 0
	s.NumberConversations = rng.IntN(2) == 0
	if rng.IntN(2) == 0 { // a live connection's: its numbers pinned at admission, perhaps none
		s.NumbersPinned, s.Numbers = true, []string{}
		for _, n := range w.numbers {
			if rng.IntN(2) == 0 {
				s.Numbers = append(s.Numbers, n)
			}
		}
	}
	return viewer.NewContext(w.ctx, v)
}

// foldAll folds every pending delta.
func (w *world) foldAll(t *testing.T) {
	t.Helper()
	for {
		n, err := dashboard.Fold(w.ctx, w.db.Client, w.db.Dialect, dashboard.FoldBatch)
		require.NoError(t, err)
		if n == 0 {
			return
		}
	}
}

// SQLite drops a table's triggers with it: a migration that rebuilds
// conversations must create the counters' triggers again.
func TestCountTriggersExist(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		q := `SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'conversations' ORDER BY name`
		want := []string{"dashboard_track_delete", "dashboard_track_insert", "dashboard_track_update"}
		if db.Dialect != "sqlite3" {
			q = `SELECT tgname FROM pg_trigger WHERE tgrelid = 'conversations'::regclass AND NOT tgisinternal ORDER BY tgname`
			want = []string{"dashboard_track_insert_delete", "dashboard_track_update"}
		}
		rows, err := db.SQL.QueryContext(t.Context(), q)
		require.NoError(t, err)
		defer rows.Close()
		var got []string
		for rows.Next() {
			var name string
			require.NoError(t, rows.Scan(&name))
			got = append(got, name)
		}
		require.NoError(t, rows.Err())
		require.Equal(t, want, got, "triggers on conversations: %s", strings.Join(got, ", "))
	})
}
