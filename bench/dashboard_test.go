package bench

import (
	"fmt"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/switchboard-dev/switchboard/dashboard"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// BenchmarkDashboardCounts reads a tenant's dashboard counters (open,
// unassigned, waiting, open per agent) with 1,000 agents and 100,000 open
// conversations: "counters" from dashboard_counts and its pending deltas
// (package dashboard, what the dashboard does), "recount" the same figures
// counted from the open conversations (what it did before, twice), the peer
// in the same run. "counters+pending" reads with 1,000 deltas not folded.
func BenchmarkDashboardCounts(b *testing.B) {
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		b.Run(d, func(b *testing.B) {
			db := storetest.Open(b, d)
			ctx, _ := seedRouting(b, db, 1000, 100_000)
			tenantID := viewer.FromContext(ctx).TenantID
			for {
				n, err := dashboard.Fold(ctx, db.Client, db.Dialect, dashboard.FoldBatch)
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					break
				}
			}
			if _, err := db.SQL.ExecContext(ctx, "ANALYZE"); err != nil {
				b.Fatal(err)
			}
			var want dashboard.Counts
			b.Run("counters", func(b *testing.B) {
				for range b.N {
					got, err := dashboard.Read(ctx, db.Client)
					if err != nil || got.Open != 100_000 {
						b.Fatalf("%v %d", err, got.Open)
					}
					want = got
				}
			})
			b.Run("recount", func(b *testing.B) {
				for range b.N {
					var open, unassigned, waiting int
					if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN assignee_id IS NULL THEN 1 ELSE 0 END), 0),
COALESCE(SUM(CASE WHEN last_customer_message_at = last_message_at THEN 1 ELSE 0 END), 0)
FROM conversations WHERE tenant_id = $1 AND status = 'OPEN'`, tenantID).Scan(&open, &unassigned, &waiting); err != nil {
						b.Fatal(err)
					}
					rows, err := db.SQL.QueryContext(ctx, `SELECT assignee_id, COUNT(*) FROM conversations
WHERE tenant_id = $1 AND status = 'OPEN' AND assignee_id IS NOT NULL GROUP BY assignee_id`, tenantID)
					if err != nil {
						b.Fatal(err)
					}
					agents := 0
					for rows.Next() {
						agents++
					}
					rows.Close()
					if open != want.Open || agents != len(want.OpenByAgent) {
						b.Fatalf("recount %d/%d, counters %d/%d", open, agents, want.Open, len(want.OpenByAgent))
					}
				}
			})
			b.Run("counters+pending", func(b *testing.B) {
				for i := range 1000 { // a second's worth of changes not yet folded
					if _, err := db.SQL.ExecContext(ctx, `UPDATE conversations SET status = 'PENDING' WHERE id = $1`, fmt.Sprintf("cnv_bench%07d", i)); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				for range b.N {
					got, err := dashboard.Read(ctx, db.Client)
					if err != nil || got.Open != 99_000 {
						b.Fatalf("%v %d", err, got.Open)
					}
				}
			})
		})
	}
}
