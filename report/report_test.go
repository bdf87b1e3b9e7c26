package report_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/hours"
	"github.com/switchboard-dev/switchboard/pulid"
	"github.com/switchboard-dev/switchboard/report"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/bulk"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// statusEvent is a resolution or a reopening the generator made: the
// schema keeps no status history, so the recomputation takes them from here.
type statusEvent struct {
	conv     string
	resolved bool // false: reopened
	at       time.Time
}

type testBundle struct {
	db      *store.DB
	ctx     context.Context
	tenant  *ent.Tenant
	hours   hours.Hours
	events  []statusEvent
	numbers []string
	teams   []string
	agents  []string
	facts   map[bool][]fact // by business hours, once computed
	// targetMs holds the numbers' own first-response targets (the second
	// number's: 300 s); the others have the tenant's, 120 s.
	targetMs map[string]int64
}

func (b *testBundle) target(number string) int64 {
	if ms, ok := b.targetMs[number]; ok {
		return ms
	}
	return 120_000
}

// builder is a report.Builder that knows the numbers' own targets.
func (b *testBundle) builder() *report.Builder {
	built := report.NewBuilder(b.tenant)
	for number, ms := range b.targetMs {
		built.SetFirstResponseTarget(number, int(ms/1000))
	}
	return built
}

var weekly = []schematype.BusinessHours{
	{Weekday: 1, Open: "09:00", Close: "18:00"}, {Weekday: 2, Open: "09:00", Close: "18:00"},
	{Weekday: 3, Open: "09:00", Close: "18:00"}, {Weekday: 4, Open: "09:00", Close: "18:00"},
	{Weekday: 5, Open: "09:00", Close: "18:00"}, {Weekday: 6, Open: "10:00", Close: "14:00"},
}

func setup(t *testing.T, db *store.DB) *testBundle {
	t.Helper()
	settings := schematype.TenantSettings{BusinessHours: weekly, Holidays: []string{"2026-10-26"}, FirstResponseTarget: 120}
	ten, err := db.Client.Tenant.Create().SetName("Acme").SetSlug("acme").SetTimezone("Europe/Berlin").
		SetSettings(settings).Save(viewer.Platform(t.Context()))
	require.NoError(t, err)
	h, err := hours.New("Europe/Berlin", weekly, settings.Holidays)
	require.NoError(t, err)
	b := &testBundle{db: db, ctx: viewer.System(t.Context(), ten.ID), tenant: ten, hours: h, facts: map[bool][]fact{}, targetMs: map[string]int64{}}
	for i := range 2 {
		n, err := db.Client.Number.Create().SetPhone(fmt.Sprintf("+4930000000%d", i)).SetDisplayName(fmt.Sprintf("N%d", i)).Save(b.ctx)
		require.NoError(t, err)
		b.numbers = append(b.numbers, n.ID)
		if i == 1 {
			require.NoError(t, db.Client.Number.UpdateOne(n).SetFirstResponseTargetSeconds(300).Exec(b.ctx))
			b.targetMs[n.ID] = 300_000
		}
		tm, err := db.Client.Team.Create().SetName(fmt.Sprintf("T%d", i)).Save(b.ctx)
		require.NoError(t, err)
		b.teams = append(b.teams, tm.ID)
	}
	for i := range 4 {
		a, err := db.Client.Agent.Create().SetName(fmt.Sprintf("A%d", i)).SetEmail(fmt.Sprintf("a%d@acme.test", i)).
			SetPasswordHash("x").Save(b.ctx)
		require.NoError(t, err)
		b.agents = append(b.agents, a.ID)
	}
	return b
}

// windows are the two spans the generated conversations start in: each
// holds a change of daylight-saving time in Berlin.
var windows = [][2]time.Time{
	{time.Date(2026, 3, 26, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)},
	{time.Date(2026, 10, 21, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 28, 0, 0, 0, 0, time.UTC)},
}

// genConv is a generated conversation: its row, its messages in the order
// they arrive (a late delivery last) and its status changes.
type genConv struct {
	contact string // wa_id
	conv    *ent.Conversation
	msgs    []*ent.Message
	changes []statusEvent
}

// generate makes n conversations with random timings (whole seconds): 1 to
// 8 messages, some reactions, some automatic replies, some late deliveries,
// resolutions and reopenings. It writes nothing: writeThroughEnt and
// writeInBulk do.
func (b *testBundle) generate(n int, seed uint64) []genConv {
	rng := rand.New(rand.NewPCG(seed, 7))
	pick := func(ids []string, none float64) *string {
		if rng.Float64() < none {
			return nil
		}
		return &ids[rng.IntN(len(ids))]
	}
	out := make([]genConv, n)
	for i := range out {
		w := windows[rng.IntN(len(windows))]
		at := w[0].Add(time.Duration(rng.Int64N(int64(w[1].Sub(w[0])/time.Second))) * time.Second)
		assignee := pick(b.agents, 0.2)
		conv := &ent.Conversation{ID: pulid.New("cnv"), TenantID: b.tenant.ID, NumberID: b.numbers[rng.IntN(2)],
			AssigneeID: assignee, TeamID: pick(b.teams, 0.3), Status: conversation.StatusOPEN, CreatedAt: at, UpdatedAt: at}
		g := genConv{contact: fmt.Sprintf("49%09d", i), conv: conv}
		msg := func(at time.Time, inbound bool) {
			m := &ent.Message{ID: pulid.New("msg"), TenantID: b.tenant.ID, ConversationID: conv.ID, NumberID: conv.NumberID,
				CreatedAt: at, UpdatedAt: at, Kind: message.KindTEXT}
			if rng.Float64() < 0.05 {
				m.Kind = message.KindREACTION
			}
			if inbound {
				m.Direction, m.Status = message.DirectionINBOUND, message.StatusRECEIVED
			} else {
				m.Direction, m.Status = message.DirectionOUTBOUND, message.StatusSENT
				if rng.Float64() > 0.15 { // else an automatic reply
					sender := assignee
					if sender == nil || rng.Float64() < 0.1 {
						sender = &b.agents[rng.IntN(len(b.agents))]
					}
					m.SenderID = sender
				}
			}
			g.msgs = append(g.msgs, m)
		}
		last := at
		for j := range 1 + rng.IntN(8) {
			if j > 0 {
				last = last.Add(time.Duration(5+rng.Int64N(3*3600)) * time.Second)
			}
			msg(last, j == 0 || rng.IntN(2) == 0)
		}
		if rng.Float64() < 0.04 && last.After(at) { // a late delivery of an older customer message
			msg(at.Add(time.Duration(1+rng.Int64N(int64(last.Sub(at)/time.Second)))*time.Second), true)
		}
		status := func(resolved bool) {
			last = last.Add(time.Duration(1+rng.Int64N(48*3600)) * time.Second)
			g.changes = append(g.changes, statusEvent{conv: conv.ID, resolved: resolved, at: last})
		}
		if rng.Float64() < 0.6 {
			status(true)
			if rng.Float64() < 0.2 {
				status(false)
				if rng.Float64() < 0.5 {
					status(true)
				}
			}
		}
		out[i] = g
	}
	for _, g := range out {
		b.events = append(b.events, g.changes...)
	}
	return out
}

// writeThroughEnt writes the conversations as ingest and the inbox do:
// through ent, one row at a time, so the hooks keep the facts.
func (b *testBundle) writeThroughEnt(t *testing.T, convs []genConv) {
	const perTx = 250
	for first := 0; first < len(convs); first += perTx {
		err := store.WithTx(b.ctx, b.db.Client, func(ctx context.Context, tx *ent.Tx) error {
			for _, g := range convs[first:min(first+perTx, len(convs))] {
				c := g.conv
				ct, err := tx.Contact.Create().SetWaID(g.contact).Save(ctx)
				if err != nil {
					return err
				}
				if err := tx.Conversation.Create().SetID(c.ID).SetNumberID(c.NumberID).SetContactID(ct.ID).
					SetNillableAssigneeID(c.AssigneeID).SetNillableTeamID(c.TeamID).SetCreatedAt(c.CreatedAt).
					SetUpdatedAt(c.UpdatedAt).Exec(ctx); err != nil {
					return err
				}
				for _, m := range g.msgs {
					if err := tx.Message.Create().SetID(m.ID).SetConversationID(c.ID).SetNumberID(m.NumberID).
						SetCreatedAt(m.CreatedAt).SetUpdatedAt(m.UpdatedAt).SetKind(m.Kind).SetDirection(m.Direction).
						SetStatus(m.Status).SetNillableSenderID(m.SenderID).Exec(ctx); err != nil {
						return err
					}
				}
				for _, e := range g.changes {
					u := tx.Conversation.UpdateOneID(c.ID).SetUpdatedAt(e.at)
					if e.resolved {
						u.SetStatus(conversation.StatusRESOLVED).SetResolvedAt(e.at)
					} else {
						u.SetStatus(conversation.StatusOPEN).ClearResolvedAt()
					}
					if err := u.Exec(ctx); err != nil {
						return err
					}
				}
			}
			return nil
		})
		require.NoError(t, err)
	}
}

// final is the conversation as its last status change left it, its
// status changes for report.Builder and its messages oldest first (the
// order of the recomputation and of the hooks' replay).
func (g genConv) final() (*ent.Conversation, []report.StatusChange, []*ent.Message) {
	c := *g.conv
	var changes []report.StatusChange
	for _, e := range g.changes {
		changes = append(changes, report.StatusChange{Resolved: e.resolved, At: e.at})
		c.UpdatedAt = e.at
		if c.Status, c.ResolvedAt = conversation.StatusOPEN, nil; e.resolved {
			c.Status, c.ResolvedAt = conversation.StatusRESOLVED, &e.at
		}
	}
	ordered := slices.Clone(g.msgs)
	slices.SortStableFunc(ordered, func(x, y *ent.Message) int {
		return cmp.Or(x.CreatedAt.Compare(y.CreatedAt), strings.Compare(x.ID, y.ID))
	})
	return &c, changes, ordered
}

// writeInBulk writes the same rows as writeThroughEnt in multi-row INSERTs,
// which bypass the hooks, and their facts with report.Builder from the
// messages in order and the status history; TestHooksKeepTheBuildersFacts
// shows those are the facts the hooks keep.
func (b *testBundle) writeInBulk(t *testing.T, convs []genConv) {
	ctx, tenant := b.ctx, b.tenant.ID
	var contacts, conversations, messages [][]any
	builder := b.builder()
	for _, g := range convs {
		c, changes, ordered := g.final()
		ctID := pulid.New("ctc")
		contacts = append(contacts, []any{ctID, c.CreatedAt, c.CreatedAt, g.contact, "[]", "{}", tenant})
		conversations = append(conversations, []any{c.ID, c.CreatedAt, c.UpdatedAt, string(c.Status), c.ResolvedAt,
			tenant, c.NumberID, ctID, c.AssigneeID, c.TeamID})
		for _, m := range g.msgs {
			messages = append(messages, []any{m.ID, m.CreatedAt, m.UpdatedAt, string(m.Direction), string(m.Kind),
				string(m.Status), tenant, c.ID, m.NumberID, m.SenderID})
		}
		builder.AddHistory(c, ordered, changes)
	}
	err := store.WithTx(ctx, b.db.Client, func(ctx context.Context, tx *ent.Tx) error {
		for _, table := range []struct {
			name string
			rows [][]any
		}{
			{"contacts (id, created_at, updated_at, wa_id, tags, attributes, tenant_id)", contacts},
			{"conversations (id, created_at, updated_at, status, resolved_at, tenant_id, number_id, contact_id, assignee_id, team_id)", conversations},
			{"messages (id, created_at, updated_at, direction, kind, status, tenant_id, conversation_id, number_id, sender_id)", messages},
		} {
			if err := bulk.Insert(ctx, tx.Client(), table.name, table.rows, ""); err != nil {
				return err
			}
		}
		return builder.Write(ctx, tx.Client())
	})
	require.NoError(t, err)
}

// cell is what the recomputation expects of one key over one bucket.
type cell struct {
	opened, resolved, reopened, in, out, handled, breaches int
	firstResponse, response, resolution                    []int64 // ms
}

type key struct{ bucket, key string }

// fact is one thing the recomputation counts: at an instant, for a number,
// team and agent.
type fact struct {
	at                  time.Time
	number, team, agent string
	apply               func(*cell)
}

// expect recomputes a report from raw messages and the generator's status
// events, without the facts: bucketOf names the bucket of an instant,
// keyOf picks the key out of (number, team, agent).
func (b *testBundle) expect(t *testing.T, business bool, from, to time.Time, bucketOf func(time.Time) string,
	keyOf func(number, team, agent string) string) map[key]*cell {
	out := map[key]*cell{}
	for _, f := range b.recompute(t, business) {
		if f.at.Before(from) || !f.at.Before(to) {
			continue
		}
		k := key{bucketOf(f.at), keyOf(f.number, f.team, f.agent)}
		if out[k] == nil {
			out[k] = &cell{}
		}
		f.apply(out[k])
	}
	return out
}

// recompute reads every conversation and message once and lists what they
// count for.
func (b *testBundle) recompute(t *testing.T, business bool) []fact {
	if b.facts[business] != nil {
		return b.facts[business]
	}
	ctx := b.ctx
	convs, err := b.db.Client.Conversation.Query().All(ctx)
	require.NoError(t, err)
	msgs, err := b.db.Client.Message.Query().Order(ent.Asc(message.FieldCreatedAt), ent.Asc(message.FieldID)).All(ctx)
	require.NoError(t, err)
	byConv := map[string][]*ent.Message{}
	for _, m := range msgs {
		byConv[m.ConversationID] = append(byConv[m.ConversationID], m)
	}
	var out []fact
	add := func(at time.Time, number, team, agent string, f func(*cell)) {
		out = append(out, fact{at, number, team, agent, f})
	}
	length := func(start, end time.Time) int64 {
		if business {
			return b.openMs(start, end)
		}
		return end.Sub(start).Milliseconds()
	}
	events := map[string][]statusEvent{}
	for _, e := range b.events {
		events[e.conv] = append(events[e.conv], e)
	}
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	for _, c := range convs {
		team, assignee := str(c.TeamID), str(c.AssigneeID)
		add(c.CreatedAt, c.NumberID, team, assignee, func(x *cell) { x.opened++ })
		var waiting *time.Time
		responded, answered := false, map[string]bool{}
		for _, m := range byConv[c.ID] {
			customer := m.Direction == message.DirectionINBOUND
			if customer {
				add(m.CreatedAt, c.NumberID, team, assignee, func(x *cell) { x.in++ })
			} else {
				add(m.CreatedAt, c.NumberID, team, str(m.SenderID), func(x *cell) { x.out++ })
			}
			if m.Kind == message.KindREACTION {
				continue
			}
			switch {
			case customer && waiting == nil:
				at := m.CreatedAt
				waiting = &at
			case !customer && m.SenderID != nil && waiting != nil:
				took := length(*waiting, m.CreatedAt)
				agent := *m.SenderID
				first, handled := !responded, !answered[agent]
				add(m.CreatedAt, c.NumberID, team, agent, func(x *cell) {
					x.response = append(x.response, took)
					if handled {
						x.handled++
					}
					if first {
						x.firstResponse = append(x.firstResponse, took)
						if took > b.target(c.NumberID) {
							x.breaches++
						}
					}
				})
				responded, answered[agent], waiting = true, true, nil
			}
		}
		episode := c.CreatedAt
		for _, e := range events[c.ID] {
			if e.resolved {
				took := length(episode, e.at)
				add(e.at, c.NumberID, team, assignee, func(x *cell) { x.resolved++; x.resolution = append(x.resolution, took) })
			} else {
				add(e.at, c.NumberID, team, assignee, func(x *cell) { x.reopened++ })
				episode = e.at
			}
		}
	}
	b.facts[business] = out
	return out
}

// openMs counts the opening time in [start, end) hour by hour: the test's
// windows open and close on whole hours, and Berlin's local hours are UTC
// hours, so each hour is open or closed whole.
func (b *testBundle) openMs(start, end time.Time) int64 {
	var ms int64
	for h := start.Truncate(time.Hour); h.Before(end); h = h.Add(time.Hour) {
		if b.hours.OpenAt(h) {
			lo, hi := h, h.Add(time.Hour)
			if lo.Before(start) {
				lo = start
			}
			if hi.After(end) {
				hi = end
			}
			ms += hi.Sub(lo).Milliseconds()
		}
	}
	return ms
}

func requireDurations(t *testing.T, want []int64, got report.Durations, what string) {
	t.Helper()
	require.Equal(t, len(want), got.Count, what)
	if len(want) == 0 {
		require.Nil(t, got.Mean, what)
		return
	}
	var sum int64
	for _, v := range want {
		sum += v
	}
	require.Equal(t, float64(sum)/float64(len(want))/1000, *got.Mean, what)
	sorted := slices.Clone(want)
	slices.Sort(sorted)
	for _, p := range []struct {
		p   int64
		got *float64
	}{{50, got.P50}, {90, got.P90}} {
		require.Equal(t, *report.Percentile(want, p.p), *p.got, "%s p%d", what, p.p)
		exact := float64(sorted[(p.p*int64(len(sorted))+99)/100-1]) / 1000
		require.InDelta(t, exact, *p.got, max(1, exact*0.05), "%s p%d is within its bin of the exact value", what, p.p)
	}
}

func compare(t *testing.T, want map[key]*cell, rows []report.Row, bucketOf func(time.Time) string, what string) {
	t.Helper()
	seen := 0
	for _, r := range rows {
		w := want[key{bucketOf(r.Start), r.Key}]
		if w == nil {
			w = &cell{}
		} else {
			seen++
		}
		at := fmt.Sprintf("%s %s key %q", what, r.Start.Format(time.RFC3339), r.Key)
		require.Equal(t, []int{w.opened, w.resolved, w.reopened, w.in, w.out, w.handled, w.breaches},
			[]int{r.Opened, r.Resolved, r.Reopened, r.MessagesIn, r.MessagesOut, r.Handled, r.FirstResponseBreaches},
			"%s: opened, resolved, reopened, in, out, handled, breaches", at)
		requireDurations(t, w.firstResponse, r.FirstResponse, at+" first response")
		requireDurations(t, w.response, r.Response, at+" response")
		requireDurations(t, w.resolution, r.Resolution, at+" resolution")
	}
	require.Equal(t, len(want), seen, "%s: every expected cell has its row", what)
}

// Must-show 1: report figures equal a recomputation from raw messages, on
// 10,000 generated conversations across both daylight-saving changes of
// 2026 in Berlin, by day, week and hour, per tenant, number, team and agent,
// with and without business hours, on both databases. The rows and their
// facts are written in bulk (writeInBulk); TestHooksKeepTheBuildersFacts
// shows the hooks keep exactly those facts when the same rows are written
// one by one.
func TestReportEqualsRecomputationFromMessages(t *testing.T) {
	t.Parallel()
	n := 10_000
	if testing.Short() {
		n = 1_000
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		start := time.Now()
		b.writeInBulk(t, b.generate(n, 14))
		t.Logf("%d conversations written in %v", n, time.Since(start))
		// As if the tenant's facts before 24 October, noon, came before
		// migration 0023 (no day-long counts): reports read hourly counts up
		// to the next midnight, day-long ones after.
		since := time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC).Unix()
		_, err := db.SQL.ExecContext(b.ctx, `INSERT INTO report_rollups (tenant_id, day_counts_since) VALUES ($1, $2)`, b.tenant.ID, since)
		require.NoError(t, err)
		gone, err := db.SQL.ExecContext(b.ctx, `DELETE FROM report_counts WHERE tenant_id = $1 AND dim LIKE '%@day' AND slot < $2`,
			b.tenant.ID, time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC).Unix())
		require.NoError(t, err)
		if n, _ := gone.RowsAffected(); n == 0 {
			t.Fatal("no day-long counts before the migration's day")
		}
		start = time.Now()
		b.checkReports(t)
		t.Logf("reports checked in %v", time.Since(start))
	})
}

// The facts the hooks keep, one write at a time, in the order the writes
// come (a late delivery last, reopenings), are the facts report.Builder
// computes from the same conversations in bulk, row for row; and the
// reports over them equal the recomputation.
func TestHooksKeepTheBuildersFacts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		convs := b.generate(150, 16)
		b.writeThroughEnt(t, convs)
		// The hooks write deltas; reports read them whether none, some or
		// all of them are folded into the rows.
		var pending int
		require.NoError(t, db.SQL.QueryRowContext(b.ctx, "SELECT COUNT(*) FROM report_deltas").Scan(&pending))
		require.Positive(t, pending, "the hooks append deltas")
		b.checkReports(t)
		moved, err := report.Fold(b.ctx, db.Client, db.Dialect, pending/2)
		require.NoError(t, err)
		require.Equal(t, pending/2, moved)
		b.checkReports(t)
		hooked := b.factRows(t)
		b.checkReports(t)
		for _, table := range []string{"report_conversations", "report_samples", "report_counts", "report_histogram_packs", "report_deltas"} {
			_, err := db.SQL.ExecContext(t.Context(), "DELETE FROM "+table)
			require.NoError(t, err)
		}
		built := b.builder()
		for _, g := range convs {
			c, changes, ordered := g.final()
			built.AddHistory(c, ordered, changes)
		}
		require.NoError(t, built.Write(b.ctx, db.Client))
		bulk := b.factRows(t)
		for table, rows := range hooked {
			require.NotEmpty(t, rows, table)
			require.Equal(t, rows, bulk[table], "%s: the hooks' rows equal the builder's", table)
		}
	})
}

// factRows lists the rows of every facts table, sorted, leaving out the rows
// that count nothing (a late delivery's replay takes samples back, which
// may leave zeros behind).
func (b *testBundle) factRows(t *testing.T) map[string][]string {
	zero := map[string]string{
		"report_counts":          "opened = 0 AND resolved = 0 AND reopened = 0 AND messages_in = 0 AND messages_out = 0 AND handled = 0 AND first_responses = 0 AND first_response_ms = 0 AND first_response_business_ms = 0 AND first_response_breaches = 0 AND first_response_business_breaches = 0 AND responses = 0 AND response_ms = 0 AND response_business_ms = 0 AND resolutions = 0 AND resolution_ms = 0 AND resolution_business_ms = 0",
		"report_histogram_packs": "bins = ''",
	}
	require.NoError(t, report.FoldAll(b.ctx, b.db.Client, b.db.Dialect))
	out := map[string][]string{}
	for _, table := range []string{"report_conversations", "report_samples", "report_counts", "report_histogram_packs"} {
		q := "SELECT * FROM " + table
		if z := zero[table]; z != "" {
			q += " WHERE NOT (" + z + ")"
		}
		rows, err := b.db.SQL.QueryContext(b.ctx, q)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for i, v := range vals {
				if raw, ok := v.([]byte); ok {
					vals[i] = string(raw)
				}
			}
			out[table] = append(out[table], fmt.Sprint(vals...))
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		slices.Sort(out[table])
	}
	return out
}

// checkReports compares reports by day, week and hour, per tenant, number,
// team and agent, with and without business hours, with the recomputation.
func (b *testBundle) checkReports(t *testing.T) {
	t.Helper()
	svc := report.NewService(b.db.Client, clock.Real())
	loc := b.hours.Loc
	day := func(at time.Time) string { return at.In(loc).Format(time.DateOnly) }
	hour := func(at time.Time) string { return at.UTC().Truncate(time.Hour).Format(time.RFC3339) }
	week := func(from time.Time) func(time.Time) string {
		return func(at time.Time) string {
			l := at.In(loc)
			monday := time.Date(l.Year(), l.Month(), l.Day()-(int(l.Weekday())+6)%7, 0, 0, 0, 0, loc)
			if monday.Before(from) {
				monday = from
			}
			return monday.Format(time.RFC3339)
		}
	}
	keys := map[report.Dimension]func(number, team, agent string) string{
		report.Tenant: func(string, string, string) string { return "" },
		report.Number: func(n, _, _ string) string { return n },
		report.Team:   func(_, t, _ string) string { return t },
		report.Agent:  func(_, _, a string) string { return a },
	}
	cases := []struct {
		from, to string
		bucket   report.Bucket
		bucketOf func(time.Time) string
	}{
		{"2026-03-25", "2026-04-05", report.Day, day},
		{"2026-10-20", "2026-11-02", report.Day, day},
		{"2026-10-21", "2026-11-03", report.Week, nil},
		{"2026-10-24", "2026-10-26", report.Hour, hour},
		{"2026-03-28", "2026-03-30", report.Hour, hour},
	}
	for _, c := range cases {
		from, err := time.ParseInLocation(time.DateOnly, c.from, loc)
		require.NoError(t, err)
		to, err := time.ParseInLocation(time.DateOnly, c.to, loc)
		require.NoError(t, err)
		to = to.AddDate(0, 0, 1)
		bucketOf := c.bucketOf
		if bucketOf == nil {
			bucketOf = week(from)
		}
		for dim, keyOf := range keys {
			for _, business := range []bool{false, true} {
				what := fmt.Sprintf("%s–%s by %s per %s (business hours: %v)", c.from, c.to, c.bucket, dim, business)
				r, err := svc.Run(b.ctx, report.Query{From: c.from, To: c.to, Bucket: c.bucket, Dimension: dim, BusinessHours: business})
				require.NoError(t, err, what)
				want := b.expect(t, business, from, to, bucketOf, keyOf)
				compare(t, want, r.Buckets, bucketOf, what)
				for _, row := range r.Totals {
					if dim == report.Number {
						require.NotNil(t, row.FirstResponseTargetSeconds, what)
						require.EqualValues(t, b.target(row.Key)/1000, *row.FirstResponseTargetSeconds, what)
					} else {
						require.Nil(t, row.FirstResponseTargetSeconds, what)
					}
				}
				whole := map[key]*cell{}
				for k, v := range want {
					w := whole[key{"", k.key}]
					if w == nil {
						w = &cell{}
						whole[key{"", k.key}] = w
					}
					w.opened, w.resolved, w.reopened, w.in, w.out = w.opened+v.opened, w.resolved+v.resolved, w.reopened+v.reopened, w.in+v.in, w.out+v.out
					w.handled, w.breaches = w.handled+v.handled, w.breaches+v.breaches
					w.firstResponse = append(w.firstResponse, v.firstResponse...)
					w.response = append(w.response, v.response...)
					w.resolution = append(w.resolution, v.resolution...)
				}
				compare(t, whole, r.Totals, func(time.Time) string { return "" }, what+" totals")
			}
		}
	}
}

// Conversations from before the facts (an upgraded database) get theirs
// from Backfill: the same figures, except the history of statuses, which
// the schema does not keep (a conversation resolved now counts one
// resolution, from its opening).
func TestBackfillComputesMissingFacts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.writeInBulk(t, b.generate(300, 15))
		for _, table := range []string{"report_conversations", "report_samples", "report_counts", "report_histogram_packs", "report_deltas"} {
			_, err := db.SQL.ExecContext(t.Context(), "DELETE FROM "+table)
			require.NoError(t, err)
		}
		n, err := report.Backfill(t.Context(), db.Client)
		require.NoError(t, err)
		require.Equal(t, 300, n)
		n, err = report.Backfill(t.Context(), db.Client)
		require.NoError(t, err)
		require.Zero(t, n, "a second run finds nothing to do")

		final := map[string]statusEvent{}
		for _, e := range b.events {
			final[e.conv] = e
		}
		b.events = nil
		for _, e := range final {
			if e.resolved {
				b.events = append(b.events, e)
			}
		}
		loc := b.hours.Loc
		day := func(at time.Time) string { return at.In(loc).Format(time.DateOnly) }
		from, _ := time.ParseInLocation(time.DateOnly, "2026-03-20", loc)
		to, _ := time.ParseInLocation(time.DateOnly, "2026-11-05", loc)
		for _, business := range []bool{false, true} {
			r, err := report.NewService(db.Client, clock.Real()).Run(b.ctx, report.Query{From: "2026-03-20", To: "2026-11-04", Bucket: report.Day,
				Dimension: report.Agent, BusinessHours: business})
			require.NoError(t, err)
			want := b.expect(t, business, from, to, day, func(_, _, a string) string { return a })
			compare(t, want, r.Buckets, day, fmt.Sprintf("backfilled (business hours: %v)", business))
		}
	})
}
