package job_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// each runs fn as subtests "sqlite" and "postgres" on a fresh database that
// store/migrations built, with River's migration applied unless they hold it.
// The PostgreSQL subtest is skipped when TEST_DATABASE_URL is unset.
func each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		res, err := newMigrator(t, db).Validate(t.Context())
		require.NoError(t, err)
		if !res.OK {
			migrateRiver(t, db, 0)
		}
		fn(t, db)
	})
}

// eachEmpty is each on a database without a single table.
func eachEmpty(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range []struct{ name, dialect string }{
		{"sqlite", dialect.SQLite},
		{"postgres", dialect.Postgres},
	} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			fn(t, openEmpty(t, d.dialect))
		})
	}
}

func openEmpty(t testing.TB, dialectName string) *store.DB {
	t.Helper()
	if dialectName == dialect.SQLite {
		db, err := store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "test.db"))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		return db
	}
	databaseURL := os.Getenv(storetest.EnvDatabaseURL)
	if databaseURL == "" {
		t.Skip(storetest.EnvDatabaseURL + " not set: Postgres tests skipped")
	}
	db, drop, err := storetest.OpenSchema(t.Context(), databaseURL, "t_")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, drop()) })
	db.SQL.SetMaxOpenConns(4)
	return db
}

// migrateRiver applies River's versions after after the way store.Migrate
// applies a file: all of it in one transaction.
func migrateRiver(t testing.TB, db *store.DB, after int) {
	t.Helper()
	script, err := job.MigrationSQL(db.Dialect, after)
	require.NoError(t, err)
	tx, err := db.SQL.BeginTx(t.Context(), nil)
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	_, err = tx.ExecContext(t.Context(), script)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
}

// openPool opens a second pool on db's database, as another instance of the
// server would; it is closed when the test ends.
func openPool(t testing.TB, db *store.DB) *sql.DB {
	t.Helper()
	var rawURL string
	switch db.Dialect {
	case dialect.SQLite:
		var (
			seq        int
			name, file string
		)
		require.NoError(t, db.SQL.QueryRowContext(t.Context(), `PRAGMA database_list`).Scan(&seq, &name, &file))
		rawURL = "sqlite:" + file
	case dialect.Postgres:
		var schema string
		require.NoError(t, db.SQL.QueryRowContext(t.Context(), `SELECT current_schema()`).Scan(&schema))
		u, err := url.Parse(os.Getenv(storetest.EnvDatabaseURL))
		require.NoError(t, err)
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		rawURL = u.String()
	}
	other, err := store.Open(t.Context(), rawURL)
	require.NoError(t, err)
	other.SQL.SetMaxOpenConns(4)
	t.Cleanup(func() { other.Close() })
	return other.SQL
}

// testArgs is the job of these tests; Name tells jobs apart.
type testArgs struct {
	Name string `json:"name"`
}

func (testArgs) Kind() string { return "test" }

// workerFunc returns workers that run work for every testArgs job.
func workerFunc(work func(ctx context.Context, j *river.Job[testArgs]) error) *river.Workers {
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(work))
	return workers
}

// counting returns workers that count the runs of each job in ran.
func counting(ran *runs) *river.Workers {
	return workerFunc(func(ctx context.Context, j *river.Job[testArgs]) error {
		ran.add(j.Args.Name)
		return nil
	})
}

// testConfig polls often so that tests run fast, and logs River's warnings
// into the test's output.
func testConfig(t testing.TB) job.Config {
	return job.Config{
		PollInterval: 20 * time.Millisecond,
		RetryPolicy:  fixedRetry(50 * time.Millisecond),
		Logger:       slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// discardLogs is for a client that outlives its test.
var discardLogs = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixedRetry retries a failed job after a fixed delay.
type fixedRetry time.Duration

func (d fixedRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(time.Duration(d))
}

// start returns a started client over pool, stopped when the test ends.
func start(t testing.TB, pool *sql.DB, dialectName string, workers *river.Workers, cfg job.Config) *job.Client {
	t.Helper()
	c, err := job.New(pool, dialectName, workers, cfg)
	require.NoError(t, err)
	require.NoError(t, c.Start(t.Context()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, c.Stop(ctx))
	})
	return c
}

// insert enqueues args in a transaction of its own and returns the job's ID.
func insert(t testing.TB, db *sql.DB, c *job.Client, args testArgs) int64 {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	res, err := c.InsertTx(t.Context(), tx, args, nil)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	return res.Job.ID
}

// waitFor waits until the job reaches state and returns it.
func waitFor(t testing.TB, c *job.Client, id int64, state rivertype.JobState) *rivertype.JobRow {
	t.Helper()
	var row *rivertype.JobRow
	require.EventuallyWithT(t, func(collect *assert.CollectT) {
		var err error
		row, err = c.River().JobGet(t.Context(), id)
		require.NoError(collect, err)
		require.Equal(collect, state, row.State)
	}, 30*time.Second, 10*time.Millisecond)
	return row
}

// runs counts the runs of each job.
type runs struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *runs) add(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = make(map[string]int)
	}
	r.n[name]++
	return r.n[name]
}

func (r *runs) of(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[name]
}

var errTransient = errors.New("provider unavailable")
