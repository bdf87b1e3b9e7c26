package store_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/store"
)

// 0023 packs the report histograms, a row per bin before, into a row per
// histogram: every non-zero bin is kept with its count, the zeros are left
// out, and the old table is gone. Tenants of the time read day-long
// counts from two days on.
func TestMigrationPacksReportHistograms(t *testing.T) {
	t.Parallel()
	eachEmpty(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		require.NoError(t, db.MigrateTo(ctx, "0019"))
		_, err := db.SQL.ExecContext(ctx, `INSERT INTO tenants (id, created_at, updated_at, name, slug, settings) VALUES ('ten_1', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 'Acme', 'acme', '{}')`)
		require.NoError(t, err)
		for _, r := range []string{
			`('ten_1', 'agent', 86400, 'RESPONSE', 'agt_1', 3, 2)`, `('ten_1', 'agent', 86400, 'RESPONSE', 'agt_1', 70, 1)`,
			`('ten_1', 'agent', 86400, 'RESPONSE', 'agt_1', 5, 0)`, `('ten_1', 'agent', 86400, 'RESPONSE', 'agt_2', 12, -1)`,
			`('ten_1', 'tenant', 172800, 'RESOLUTION/BUSINESS', '', 200, 41)`, `('ten_2', 'team', 86400, 'RESPONSE', '', 9, 0)`,
		} {
			_, err = db.SQL.ExecContext(ctx, `INSERT INTO report_histograms (tenant_id, dim, day, kind, dim_id, bin, n) VALUES `+r)
			require.NoError(t, err)
		}
		require.NoError(t, db.Migrate(ctx))
		rows, err := db.SQL.QueryContext(ctx, `SELECT tenant_id, dim, kind, day, dim_id, bins FROM report_histogram_packs`)
		require.NoError(t, err)
		var got []string
		for rows.Next() {
			var ten, dim, kind, dimID, bins string
			var day int64
			require.NoError(t, rows.Scan(&ten, &dim, &kind, &day, &dimID, &bins))
			pairs := strings.Fields(bins)
			slices.Sort(pairs)
			got = append(got, strings.Join([]string{ten, dim, kind, dimID, strings.Join(pairs, " ")}, "|"))
		}
		require.NoError(t, rows.Err())
		slices.Sort(got)
		require.Equal(t, []string{
			"ten_1|agent|RESPONSE|agt_1|3:2 70:1", "ten_1|agent|RESPONSE|agt_2|12:-1", "ten_1|tenant|RESOLUTION/BUSINESS||200:41",
		}, got)
		_, err = db.SQL.ExecContext(ctx, `SELECT 1 FROM report_histograms`)
		require.Error(t, err, "the old table is dropped")

		// The tenant's day-long counts are whole from two days on.
		var since int64
		require.NoError(t, db.SQL.QueryRowContext(ctx, `SELECT day_counts_since FROM report_rollups WHERE tenant_id = 'ten_1'`).Scan(&since))
		require.InDelta(t, time.Now().Add(48*time.Hour).Unix(), since, 120)
	})
}
