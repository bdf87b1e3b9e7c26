package store_test

import (
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/privacy"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

func TestOpen(t *testing.T) {
	t.Parallel()

	t.Run("SQLiteURLForms", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		file := filepath.Join(dir, "data", "switchboard.db")
		for _, rawURL := range []string{
			"sqlite:" + file,
			"sqlite://" + file,
			"file:" + file,
			file,
		} {
			dsn, err := store.SQLiteDSN(rawURL)
			require.NoError(t, err, rawURL)
			u, err := url.Parse(dsn)
			require.NoError(t, err)
			require.Equal(t, file, u.Path, rawURL)
			require.Equal(t, url.Values{
				"_pragma": {"foreign_keys(1)", "journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)", "wal_autocheckpoint(0)"},
				"_txlock": {"immediate"},
			}, u.Query(), rawURL)
		}
		require.DirExists(t, filepath.Join(dir, "data"))
	})

	t.Run("SQLiteURLParameters", func(t *testing.T) {
		t.Parallel()
		db, err := store.Open(t.Context(), "sqlite:"+t.TempDir()+"/x.db?_pragma=cache_size(-4000)")
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		require.Equal(t, "-4000", pragma(t, db, "cache_size"))
		require.Equal(t, "1", pragma(t, db, "foreign_keys"))
	})

	t.Run("SQLiteSettings", func(t *testing.T) {
		t.Parallel()
		db, err := store.Open(t.Context(), "sqlite:"+t.TempDir()+"/x.db")
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		require.Equal(t, dialect.SQLite, db.Dialect)
		require.Equal(t, "1", pragma(t, db, "foreign_keys"))
		require.Equal(t, "wal", pragma(t, db, "journal_mode"))
		require.Equal(t, "10000", pragma(t, db, "busy_timeout"))
		require.Equal(t, "1", pragma(t, db, "synchronous")) // NORMAL
		require.Contains(t, sql.Drivers(), "sqlite3")
	})

	// A transaction that reads and then writes must wait for another writer,
	// not fail with SQLITE_BUSY when it upgrades its lock.
	t.Run("SQLiteWritersWait", func(t *testing.T) {
		t.Parallel()
		db, err := store.Open(t.Context(), "sqlite:"+t.TempDir()+"/x.db")
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		ctx := t.Context()
		_, err = db.SQL.ExecContext(ctx, `CREATE TABLE tally (n INTEGER NOT NULL)`)
		require.NoError(t, err)

		increment := func() error {
			tx, err := db.SQL.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback() //nolint:errcheck
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tally`).Scan(&n); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO tally VALUES (?)`, n+1); err != nil {
				return err
			}
			return tx.Commit()
		}
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Go(func() { errs[i] = increment() })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		var distinct int
		require.NoError(t, db.SQL.QueryRowContext(ctx, `SELECT count(DISTINCT n) FROM tally`).Scan(&distinct))
		require.Equal(t, 16, distinct, "every increment saw the ones before it")
	})

	t.Run("RejectsInMemorySQLite", func(t *testing.T) {
		t.Parallel()
		for _, rawURL := range []string{":memory:", "sqlite::memory:", "file:x?mode=memory", "sqlite:"} {
			_, err := store.Open(t.Context(), rawURL)
			require.Error(t, err, rawURL)
		}
	})

	t.Run("PostgresUnreachable", func(t *testing.T) {
		t.Parallel()
		_, err := store.Open(t.Context(), "postgres://postgres:hunter2@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
		require.ErrorContains(t, err, "store: connect postgres://postgres:xxxxx@127.0.0.1:1/test")
		require.NotContains(t, err.Error(), "hunter2")
	})

	// Without ent/runtime the client would enforce no policy at all.
	t.Run("EnforcesPrivacy", func(t *testing.T) {
		t.Parallel()
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			_, err := db.Client.Tenant.Query().All(t.Context())
			require.ErrorIs(t, err, privacy.Deny)
		})
	})
}

// A relative SQLite path is relative to the working directory.
func TestOpenRelativeSQLitePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	db, err := store.Open(t.Context(), "sqlite:./data/switchboard.db")
	require.NoError(t, err)
	require.NoError(t, db.Migrate(t.Context()))
	require.NoError(t, db.Close())
	entries, err := os.ReadDir(filepath.Join(dir, "data"))
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == "switchboard.db" }))
}

func pragma(t *testing.T, db *store.DB, name string) string {
	t.Helper()
	var v string
	require.NoError(t, db.SQL.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v))
	return v
}
