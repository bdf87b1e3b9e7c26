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
		ct, err := c.Contact.Create().SetWaID(fmt.Sprint(4917000000000 + rng.Int64N(1e9))).Save(w.ctx)
		require.NoError(t, err)
		create := c.Conversation.Create().SetNumberID(w.numbers[rng.IntN(len(w.numbers))]).SetContactID(ct.ID).
			SetLastMessageAt(at).SetLastCustomerMessageAt(at)
		if rng.IntN(2) == 0 {
			create.SetAssigneeID(w.agents[rng.IntN(len(w.agents))])
		}
		conv, err := create.Save(w.ctx)
		require.NoError(t, err)
		w.convs = append(w.convs, conv.ID)
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

// recount is what the counters must say, counted from the conversations.
func (w *world) recount(t *testing.T, cond string, args ...any) dashboard.Counts {
	t.Helper()
	rows, err := w.db.SQL.QueryContext(w.ctx, `SELECT COALESCE(assignee_id, ''), COUNT(*),
SUM(CASE WHEN assignee_id IS NULL THEN 1 ELSE 0 END), SUM(CASE WHEN last_customer_message_at = last_message_at THEN 1 ELSE 0 END)
FROM conversations WHERE tenant_id = $1 AND status = 'OPEN'`+cond+` GROUP BY COALESCE(assignee_id, '')`, append([]any{w.tenant}, args...)...)
	require.NoError(t, err)
	defer rows.Close()
	out := dashboard.Counts{OpenByAgent: map[string]int{}}
	for rows.Next() {
		var assignee string
		var open, unassigned, waiting int
		require.NoError(t, rows.Scan(&assignee, &open, &unassigned, &waiting))
		out.Open, out.Unassigned, out.Waiting = out.Open+open, out.Unassigned+unassigned, out.Waiting+waiting
		if assignee != "" {
			out.OpenByAgent[assignee] = open
		}
	}
	require.NoError(t, rows.Err())
	return out
}

// check compares the counters with a recount, in four row scopes.
func (w *world) check(t *testing.T, what string) {
	t.Helper()
	read := func(s viewer.Scope, agent string, numbers []string) dashboard.Counts {
		got, err := dashboard.Read(w.ctx, w.db.Client, w.tenant, s, agent, numbers)
		require.NoError(t, err)
		return got
	}
	require.Equal(t, w.recount(t, ""), read(viewer.Everything, "", nil), "%s: everything", what)
	agent := w.agents[0]
	require.Equal(t, w.recount(t, " AND assignee_id = $2", agent),
		read(viewer.Scope{AssignedConversations: true}, agent, nil), "%s: assigned", what)
	require.Equal(t, w.recount(t, " AND number_id = $2", w.numbers[1]),
		read(viewer.Scope{NumberConversations: true, NumbersPinned: true, Numbers: w.numbers[1:2]}, agent, nil), "%s: pinned number", what)
	require.Equal(t, w.recount(t, " AND (assignee_id = $2 OR number_id = $3 OR number_id = $4)", agent, w.numbers[0], w.numbers[2]),
		read(viewer.Scope{AssignedConversations: true, NumberConversations: true}, agent, []string{w.numbers[0], w.numbers[2]}),
		"%s: assigned or member numbers", what)
	require.Equal(t, dashboard.Counts{OpenByAgent: map[string]int{}}, read(viewer.Scope{}, agent, nil), "%s: no scope", what)
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
			for {
				n, err := dashboard.Fold(a.ctx, db.Client, db.Dialect, dashboard.FoldBatch)
				require.NoError(t, err)
				if n == 0 {
					break
				}
			}
			a.check(t, fmt.Sprintf("round %d, folded", round))
			b.check(t, fmt.Sprintf("round %d, folded (other tenant)", round))
		}
		var zero int
		require.NoError(t, db.SQL.QueryRowContext(a.ctx, `SELECT COUNT(*) FROM dashboard_counts WHERE open = 0 AND unassigned = 0 AND waiting = 0`).Scan(&zero))
		require.Zero(t, zero, "rows that count nothing are removed")
	})
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
