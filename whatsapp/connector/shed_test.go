package connector_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// Webhooks beyond MaxPending waiting to be stored are answered 503 at once
// with Retry-After (the provider posts them again), and those waiting are
// stored and answered 200 when the database is back: none held a
// connection past the bound, none was lost. The store is held by a lock on
// webhook_deliveries (Postgres), so the waits are deterministic.
func TestWebhooksBeyondMaxPendingAreShed(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, dialect.Postgres) // skips without TEST_DATABASE_URL
	b := setup(t, db)
	b.hook.MaxPending = 2
	body := samples(t, "message_status.json")["delivered"]

	holding, err := db.SQL.BeginTx(t.Context(), nil)
	require.NoError(t, err)
	_, err = holding.ExecContext(t.Context(), `LOCK TABLE webhook_deliveries IN EXCLUSIVE MODE`)
	require.NoError(t, err)
	defer holding.Rollback() //nolint:errcheck // committed below; a failed test rolls back

	post := func() *httptest.ResponseRecorder { return b.deliver(body) }
	// the first leads the store and waits for the lock; two more wait for
	// the next batch: the bound
	answers := make(chan int, 3)
	go func() { answers <- post().Code }()
	waitFor(t, func() bool { return lockWaiters(t, db) > 0 }, "the first POST stores and waits for the table")
	for range 2 {
		go func() { answers <- post().Code }()
	}
	waitFor(t, func() bool { return b.hook.Pending() == 2 }, "two POSTs wait for the next batch")

	beyond := make(chan *httptest.ResponseRecorder, 1)
	go func() { beyond <- post() }()
	var shed *httptest.ResponseRecorder
	select {
	case shed = <-beyond:
	case <-time.After(5 * time.Second):
		t.Fatal("the POST beyond the bound waits to be stored (holding its connection) instead of being answered")
	}
	require.Equal(t, http.StatusServiceUnavailable, shed.Code)
	require.Equal(t, "1", shed.Header().Get("Retry-After"))
	require.EqualValues(t, 1, b.hook.Shed())

	require.NoError(t, holding.Commit())
	for range 3 {
		require.Equal(t, http.StatusOK, <-answers)
	}
	require.EqualValues(t, 3, b.hook.Accepted())
	require.Len(t, unclaimed(t, db), 3)
	require.Equal(t, http.StatusOK, post().Code, "room again once they are stored")
}

// lockWaiters counts the sessions of db's database waiting for a lock on
// webhook_deliveries.
func lockWaiters(t *testing.T, db *store.DB) int {
	var n int
	require.NoError(t, db.SQL.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity
WHERE wait_event_type = 'Lock' AND query LIKE '%webhook_deliveries%' AND datname = current_database()`).Scan(&n))
	return n
}

func waitFor(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), msg)
	}
}
