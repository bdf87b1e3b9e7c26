package bulk_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/bulk"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// Values written inline and values bound come back as they went in, on
// both databases, across statements; a quote or a backslash is never
// written inline.
func TestInsertRoundTrips(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		_, err := db.SQL.ExecContext(ctx, `CREATE TABLE bulk_probe (id text PRIMARY KEY, n bigint NOT NULL, note text NULL, at bigint NULL)`)
		require.NoError(t, err)
		tricky := []string{`it's`, `back\slash`, `'); DROP TABLE bulk_probe; --`, "tab\tand ünïcode", `$1`}
		var rows [][]any
		want := map[string]string{}
		for i := range 40_000 { // several statements
			id := fmt.Sprintf("row_%05d", i)
			var note any
			if i%3 == 0 {
				s := tricky[i%len(tricky)]
				note = &s
				want[id] = s
			} else if i%3 == 1 {
				note, want[id] = "plain-"+id, "plain-"+id
			}
			rows = append(rows, []any{id, int64(i) - 20_000, note, time.Unix(int64(i), 0).Unix()})
		}
		require.NoError(t, bulk.Insert(ctx, db.SQL, "bulk_probe (id, n, note, at)", rows, ""))
		require.NoError(t, bulk.Insert(ctx, db.SQL, "bulk_probe (id, n, note, at)", [][]any{{"row_00000", 7, nil, nil}},
			" ON CONFLICT (id) DO UPDATE SET n = bulk_probe.n + excluded.n"))
		got, err := db.SQL.QueryContext(ctx, `SELECT id, n, note FROM bulk_probe ORDER BY id`)
		require.NoError(t, err)
		defer got.Close()
		i := 0
		for got.Next() {
			var id string
			var n int64
			var note *string
			require.NoError(t, got.Scan(&id, &n, &note))
			wantN := int64(i) - 20_000
			if i == 0 {
				wantN += 7
			}
			require.Equal(t, wantN, n, id)
			if w, ok := want[id]; ok {
				require.NotNil(t, note, id)
				require.Equal(t, w, *note, id)
			} else {
				require.Nil(t, note, id)
			}
			i++
		}
		require.NoError(t, got.Err())
		require.Equal(t, len(rows), i)
	})
}
