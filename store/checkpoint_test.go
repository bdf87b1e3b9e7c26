package store_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/store"
)

// TestCheckpoints: no commit copies the SQLite log back into the database
// file; the checkpointer does, beside the writers, and empties a log grown
// too large. A URL that sets wal_autocheckpoint keeps SQLite's own.
func TestCheckpoints(t *testing.T) {
	t.Parallel()

	const page = 4096
	// write adds n pages of data in n commits.
	write := func(t *testing.T, db *store.DB, n int) {
		t.Helper()
		ctx := t.Context()
		_, err := db.SQL.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS blobs (b BLOB NOT NULL)`)
		require.NoError(t, err)
		blob := []byte(strings.Repeat("x", page))
		for range n {
			_, err := db.SQL.ExecContext(ctx, `INSERT INTO blobs (b) VALUES (?)`, blob)
			require.NoError(t, err)
		}
	}
	size := func(t *testing.T, path string) int64 {
		t.Helper()
		fi, err := os.Stat(path)
		require.NoError(t, err)
		return fi.Size()
	}
	open := func(t *testing.T, url string, opts ...store.Option) (*store.DB, string) {
		t.Helper()
		db, err := store.Open(t.Context(), url, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		path, _, _ := strings.Cut(strings.TrimPrefix(url, "sqlite:"), "?")
		return db, path
	}

	t.Run("CommitsDoNotCheckpoint", func(t *testing.T) {
		t.Parallel()
		// a checkpointer that never comes round: only a commit could
		// checkpoint, and none does
		db, path := open(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), store.WithCheckpoints(time.Hour, 1<<40))
		require.True(t, db.OwnsCheckpoints())
		require.Equal(t, "0", pragma(t, db, "wal_autocheckpoint"))
		before := size(t, path)
		write(t, db, 3000) // three times SQLite's automatic threshold
		require.Equal(t, before, size(t, path), "a commit copied the log into the database file")
		require.Greater(t, size(t, path+"-wal"), int64(3000*page))
	})

	t.Run("TheCheckpointerCopiesTheLog", func(t *testing.T) {
		t.Parallel()
		db, path := open(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), store.WithCheckpoints(10*time.Millisecond, 1<<40))
		write(t, db, 3000)
		require.Eventually(t, func() bool { return size(t, path) >= 3000*page }, 10*time.Second, 10*time.Millisecond,
			"the database file never received the log's pages")
	})

	t.Run("ATooLargeLogIsEmptied", func(t *testing.T) {
		t.Parallel()
		db, path := open(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), store.WithCheckpoints(10*time.Millisecond, 1<<20))
		// one transaction of 4 MB: the log grows past 1 MB whatever the
		// passive checkpoints do
		tx, err := db.SQL.BeginTx(t.Context(), nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(t.Context(), `CREATE TABLE blobs (b BLOB NOT NULL)`)
		require.NoError(t, err)
		for range 1000 {
			_, err = tx.ExecContext(t.Context(), `INSERT INTO blobs (b) VALUES (?)`, []byte(strings.Repeat("y", page)))
			require.NoError(t, err)
		}
		require.NoError(t, tx.Commit())
		require.Eventually(t, func() bool { return size(t, path+"-wal") == 0 }, 10*time.Second, 10*time.Millisecond,
			"the log was not truncated")
		var n int
		require.NoError(t, db.SQL.QueryRowContext(context.Background(), `SELECT count(*) FROM blobs`).Scan(&n))
		require.Equal(t, 1000, n)
	})

	// A reader of old pages keeps the log from being emptied; the TRUNCATE
	// that waits for it holds the write lock meanwhile, so it must give up
	// soon and not come back at every tick.
	t.Run("ALongReaderDoesNotStallWriters", func(t *testing.T) {
		t.Parallel()
		db, _ := open(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), store.WithCheckpoints(10*time.Millisecond, 64<<10))
		write(t, db, 1)
		blob := []byte(strings.Repeat("z", page))
		var (
			rows  *sql.Rows
			worst time.Duration
		)
		for i := range 400 {
			if i == 20 { // a reader starts amid the writes, its snapshot in the log
				var err error
				rows, err = db.SQL.QueryContext(t.Context(), `SELECT b FROM blobs`)
				require.NoError(t, err)
				require.True(t, rows.Next()) // the statement holds its snapshot until closed
			}
			start := time.Now()
			_, err := db.SQL.ExecContext(t.Context(), `INSERT INTO blobs (b) VALUES (?)`, blob)
			require.NoError(t, err)
			worst = max(worst, time.Since(start))
		}
		require.NoError(t, rows.Close())
		require.Less(t, worst, 2*time.Second, "a write waited on the checkpointer")
	})

	t.Run("TheURLKeepsSQLitesCheckpoints", func(t *testing.T) {
		t.Parallel()
		// the second form sorts before Open's wal_autocheckpoint(0), which
		// modernc would then have run last
		for _, p := range []string{"wal_autocheckpoint(1000)", url.QueryEscape("wal_autocheckpoint = 1000")} {
			db, _ := open(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db")+"?_pragma="+p)
			require.False(t, db.OwnsCheckpoints(), p)
			require.Equal(t, "1000", pragma(t, db, "wal_autocheckpoint"), p)
		}
	})
}
