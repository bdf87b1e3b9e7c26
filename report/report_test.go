package report_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/hours"
	"github.com/switchboard-dev/switchboard/report"
	"github.com/switchboard-dev/switchboard/store"
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
	b := &testBundle{db: db, ctx: viewer.System(t.Context(), ten.ID), tenant: ten, hours: h, facts: map[bool][]fact{}}
	for i := range 2 {
		n, err := db.Client.Number.Create().SetPhone(fmt.Sprintf("+4930000000%d", i)).SetDisplayName(fmt.Sprintf("N%d", i)).Save(b.ctx)
		require.NoError(t, err)
		b.numbers = append(b.numbers, n.ID)
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

// generate writes n conversations through ent, as ingest and the inbox do,
// with random timings (whole seconds): 1 to 8 messages, some reactions,
// some automatic replies, some late deliveries, resolutions and reopenings.
func (b *testBundle) generate(t *testing.T, n int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	pick := func(ids []string, none float64) *string {
		if rng.Float64() < none {
			return nil
		}
		return &ids[rng.IntN(len(ids))]
	}
	const perTx = 250
	for first := 0; first < n; first += perTx {
		err := store.WithTx(b.ctx, b.db.Client, func(ctx context.Context, tx *ent.Tx) error {
			for i := first; i < min(first+perTx, n); i++ {
				w := windows[rng.IntN(len(windows))]
				at := w[0].Add(time.Duration(rng.Int64N(int64(w[1].Sub(w[0])/time.Second))) * time.Second)
				ct, err := tx.Contact.Create().SetWaID(fmt.Sprintf("49%09d", i)).Save(ctx)
				if err != nil {
					return err
				}
				assignee := pick(b.agents, 0.2)
				num := b.numbers[rng.IntN(2)]
				conv, err := tx.Conversation.Create().SetNumberID(num).SetContactID(ct.ID).SetNillableAssigneeID(assignee).
					SetNillableTeamID(pick(b.teams, 0.3)).SetCreatedAt(at).SetUpdatedAt(at).Save(ctx)
				if err != nil {
					return err
				}
				msg := func(at time.Time, inbound bool) error {
					c := tx.Message.Create().SetConversationID(conv.ID).SetNumberID(num).SetCreatedAt(at)
					if rng.Float64() < 0.05 {
						c.SetKind(message.KindREACTION)
					}
					if inbound {
						c.SetDirection(message.DirectionINBOUND).SetStatus(message.StatusRECEIVED)
					} else {
						c.SetDirection(message.DirectionOUTBOUND).SetStatus(message.StatusSENT)
						if rng.Float64() > 0.15 { // else an automatic reply
							sender := assignee
							if sender == nil || rng.Float64() < 0.1 {
								sender = &b.agents[rng.IntN(len(b.agents))]
							}
							c.SetSenderID(*sender)
						}
					}
					return c.Exec(ctx)
				}
				last := at
				for j := range 1 + rng.IntN(8) {
					if j > 0 {
						last = last.Add(time.Duration(5+rng.Int64N(3*3600)) * time.Second)
					}
					if err := msg(last, j == 0 || rng.IntN(2) == 0); err != nil {
						return err
					}
				}
				if rng.Float64() < 0.04 && last.After(at) { // a late delivery of an older customer message
					if err := msg(at.Add(time.Duration(1+rng.Int64N(int64(last.Sub(at)/time.Second)))*time.Second), true); err != nil {
						return err
					}
				}
				status := func(s conversation.Status) error {
					last = last.Add(time.Duration(1+rng.Int64N(48*3600)) * time.Second)
					u := tx.Conversation.UpdateOneID(conv.ID).SetStatus(s).SetUpdatedAt(last)
					if s == conversation.StatusRESOLVED {
						u.SetResolvedAt(last)
					} else {
						u.ClearResolvedAt()
					}
					b.events = append(b.events, statusEvent{conv: conv.ID, resolved: s == conversation.StatusRESOLVED, at: last})
					return u.Exec(ctx)
				}
				if rng.Float64() < 0.6 {
					if err := status(conversation.StatusRESOLVED); err != nil {
						return err
					}
					if rng.Float64() < 0.2 {
						if err := status(conversation.StatusOPEN); err != nil {
							return err
						}
						if rng.Float64() < 0.5 {
							if err := status(conversation.StatusRESOLVED); err != nil {
								return err
							}
						}
					}
				}
			}
			return nil
		})
		require.NoError(t, err)
	}
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
						if took > 120_000 {
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
// with and without business hours, on both databases.
func TestReportEqualsRecomputationFromMessages(t *testing.T) {
	t.Parallel()
	n := 10_000
	if testing.Short() {
		n = 1_000
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		start := time.Now()
		b.generate(t, n, 14)
		t.Logf("%d conversations written in %v", n, time.Since(start))
		start = time.Now()
		defer func() { t.Logf("reports checked in %v", time.Since(start)) }()
		svc := report.NewService(db.Client)
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
	})
}

// Conversations from before the facts (an upgraded database) get theirs
// from Backfill: the same figures, except the history of statuses, which
// the schema does not keep (a conversation resolved now counts one
// resolution, from its opening).
func TestBackfillComputesMissingFacts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.generate(t, 300, 15)
		for _, table := range []string{"report_conversations", "report_samples", "report_counts", "report_histograms"} {
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
			r, err := report.NewService(db.Client).Run(b.ctx, report.Query{From: "2026-03-20", To: "2026-11-04", Bucket: report.Day,
				Dimension: report.Agent, BusinessHours: business})
			require.NoError(t, err)
			want := b.expect(t, business, from, to, day, func(_, _, a string) string { return a })
			compare(t, want, r.Buckets, day, fmt.Sprintf("backfilled (business hours: %v)", business))
		}
	})
}
