package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/pulid"
	reports "github.com/switchboard-dev/switchboard/report"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Report benchmark size: a month of a large contact centre.
const (
	reportConversations = 100_000
	reportMessagesEach  = 10 // 1,000,000 messages
	reportNumbers       = 5
	reportTeams         = 5
	reportAgents        = 50
)

// BenchmarkReport measures answering a report over a month holding
// 1,000,000 messages (100,000 conversations, 50 agents, 5 numbers, 5 teams,
// October 2026 in Europe/Berlin, across the change of time). The facts are
// seeded in bulk (report.Builder, as the backfill writes them), not through
// a million inserts; ns/op is the report alone.
func BenchmarkReport(b *testing.B) {
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		b.Run(d, func(b *testing.B) {
			db := storetest.Open(b, d)
			ctx := seedReport(b, db.Client)
			if d == dialect.Postgres {
				// as autovacuum leaves a table in steady state: the visibility
				// map lets the hourly report read samples from the index alone
				if _, err := db.SQL.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
					b.Fatal(err)
				}
			}
			svc := reports.NewService(db.Client, clock.Real())
			explainReport(ctx, b, db)
			for _, q := range []reports.Query{
				{From: "2026-10-15", To: "2026-10-15", Bucket: reports.Day, Dimension: reports.Tenant}, // the yardstick: one day
				{From: "2026-10-01", To: "2026-10-31", Bucket: reports.Day, Dimension: reports.Tenant},
				{From: "2026-10-01", To: "2026-10-31", Bucket: reports.Day, Dimension: reports.Agent},
				{From: "2026-10-01", To: "2026-10-31", Bucket: reports.Week, Dimension: reports.Number, BusinessHours: true},
				{From: "2026-10-20", To: "2026-10-26", Bucket: reports.Hour, Dimension: reports.Tenant},
			} {
				name := fmt.Sprintf("%s-%s/by=%s/per=%s/business=%v", q.From, q.To, q.Bucket, q.Dimension, q.BusinessHours)
				b.Run(name, func(b *testing.B) {
					var rows int
					cpu := cpuTime()
					for b.Loop() {
						r, err := svc.Run(ctx, q)
						if err != nil {
							b.Fatal(err)
						}
						rows = len(r.Buckets)
					}
					b.ReportMetric(float64(rows), "rows")
					// CPU time of this process (user + system) per report: what
					// the report costs, less than ns/op on a loaded machine, where
					// it waits for a core (the database server's CPU is not in it).
					b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
				})
			}
		})
	}
}

// seedReport writes the facts of the month's conversations and returns the
// tenant's system viewer.
func seedReport(b *testing.B, client *ent.Client) context.Context {
	b.Helper()
	start := time.Now()
	weekly := []schematype.BusinessHours{}
	for d := 1; d <= 5; d++ {
		weekly = append(weekly, schematype.BusinessHours{Weekday: d, Open: "08:00", Close: "20:00"})
	}
	ten, err := client.Tenant.Create().SetName("Big").SetSlug("big").SetTimezone("Europe/Berlin").
		SetSettings(schematype.TenantSettings{BusinessHours: weekly, FirstResponseTarget: 120}).Save(viewer.Platform(b.Context()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := viewer.System(b.Context(), ten.ID)
	ids := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = pulid.New(prefix)
		}
		return out
	}
	numbers, teams, agents := ids("num", reportNumbers), ids("tea", reportTeams), ids("agt", reportAgents)
	conversations := reportConversations
	if n, err := strconv.Atoi(os.Getenv("REPORT_BENCH_CONVERSATIONS")); err == nil && n > 0 {
		conversations = n // a smaller month, for a quick profile
	}
	rng := rand.New(rand.NewPCG(1, 2))
	month := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	builder := reports.NewBuilder(ten)
	write := func() {
		tx, err := client.Tx(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := builder.Write(ctx, tx.Client()); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	for range conversations {
		at := month.Add(time.Duration(rng.Int64N(30*24*3600)) * time.Second)
		agent := agents[rng.IntN(len(agents))]
		team := teams[rng.IntN(len(teams))]
		conv := &ent.Conversation{ID: pulid.New("cnv"), TenantID: ten.ID, NumberID: numbers[rng.IntN(len(numbers))],
			AssigneeID: &agent, TeamID: &team, CreatedAt: at, Status: conversation.StatusOPEN}
		msgs := make([]*ent.Message, reportMessagesEach)
		for j := range msgs {
			m := &ent.Message{ID: pulid.New("msg"), ConversationID: conv.ID, NumberID: conv.NumberID, CreatedAt: at,
				Direction: message.DirectionINBOUND, Kind: message.KindTEXT}
			if j > 0 && rng.IntN(2) == 0 {
				m.Direction, m.SenderID = message.DirectionOUTBOUND, &agent
			}
			msgs[j] = m
			at = at.Add(time.Duration(5+rng.Int64N(1800)) * time.Second)
		}
		if rng.IntN(10) < 7 {
			conv.Status, conv.ResolvedAt = conversation.StatusRESOLVED, &at
		}
		builder.Add(conv, msgs)
	}
	write() // once: every batch would read and rewrite most packs and hourly counts again
	b.Logf("seeded %d conversations, %d messages' facts in %v", conversations, conversations*reportMessagesEach, time.Since(start))
	return ctx
}

// explainReport logs the plans of the two statements of a month's report
// per agent (BENCHMARKS.md quotes them).
func explainReport(ctx context.Context, b *testing.B, db *store.DB) {
	prefix := "EXPLAIN QUERY PLAN "
	if db.Dialect == dialect.Postgres {
		prefix = "EXPLAIN "
	}
	tenantID := viewer.FromContext(ctx).TenantID
	from, to := time.Date(2026, 9, 30, 22, 0, 0, 0, time.UTC).Unix(), time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC).Unix()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`SELECT slot, dim_id, opened FROM report_counts WHERE tenant_id = $1 AND dim = $2 AND slot >= $3 AND slot < $4`,
			[]any{tenantID, "agent", from, to}},
		{`SELECT day, dim_id, kind, bins FROM report_histogram_packs WHERE tenant_id = $1 AND dim = $2 AND kind IN ($5, $6, $7) AND day >= $3 AND day < $4`,
			[]any{tenantID, "agent", from, to, reports.KindFirstResponse, reports.KindResponse, reports.KindResolution}},
	} {
		rows, err := db.SQL.QueryContext(ctx, prefix+q.sql, q.args...)
		if err != nil {
			b.Fatal(err)
		}
		var plan []string
		for _, vals := range scanAll(b, rows) {
			plan = append(plan, fmt.Sprint(vals[len(vals)-1]))
		}
		b.Logf("%s\n  %s", q.sql, strings.Join(plan, "\n  "))
	}
}

// cpuTime is the CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scanAll reads every row of rows, each as its columns' values, and closes
// rows (EXPLAIN output, whatever its columns).
func scanAll(b *testing.B, rows *sql.Rows) [][]any {
	b.Helper()
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		b.Fatal(err)
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}
