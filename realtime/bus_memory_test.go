package realtime

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

func memoryDriver() busDriver {
	return busDriver{
		name: "memory",
		backend: func(*testing.T) *testBackend {
			return &testBackend{open: func(t *testing.T, opts ...Option) Bus {
				b := NewMemory(opts...)
				t.Cleanup(func() { require.NoError(t, b.Close()) })
				return b
			}}
		},
	}
}

// memorySQLiteDriver is the memory bus as a SQLite deployment runs it: its
// sequences in a table. Each bus is a process of its own (not shared).
func memorySQLiteDriver() busDriver {
	return busDriver{
		name: "memory+sqlite",
		backend: func(t *testing.T) *testBackend {
			db := sequenceDB(t)
			return &testBackend{open: func(t *testing.T, opts ...Option) Bus {
				b := NewMemory(append(opts, WithSequences(db))...)
				t.Cleanup(func() { require.NoError(t, b.Close()) })
				return b
			}}
		},
	}
}

// sequenceDB is an empty SQLite database with the memory bus's table.
func sequenceDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "bus.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	_, err = db.Exec(SQLiteSchema)
	require.NoError(t, err)
	return db
}

// A restarted memory bus on the same database goes on from where the last
// one may have got to: it never hands out a Seq again, tells a client
// resuming from before the restart to resync, and its events all come after
// that client's Seq — also past a reserved block.
func TestMemorySequencesSurviveARestart(t *testing.T) {
	t.Parallel()
	db := sequenceDB(t)
	first := NewMemory(WithSequences(db))
	var last uint64
	for range sequenceBlock + 5 { // past a block, so the second reservation is used
		last = publish(t, first, testEvent("ten_a", 1)).Seq
	}
	require.Equal(t, uint64(sequenceBlock+5), last, "a new tenant counts from 1 without gaps")
	require.Equal(t, uint64(1), publish(t, first, testEvent("ten_b", 1)).Seq)
	require.NoError(t, first.Close())

	second := NewMemory(WithSequences(db))
	t.Cleanup(func() { require.NoError(t, second.Close()) })
	events, ok, err := second.Since(t.Context(), "ten_a", last)
	require.NoError(t, err)
	require.False(t, ok, "the replay window did not survive: resync")
	require.Empty(t, events)

	next := publish(t, second, testEvent("ten_a", 1)).Seq
	require.Greater(t, next, last, "no Seq is handed out twice")
	require.LessOrEqual(t, next, last+sequenceBlock, "a restart skips at most a block")
	require.Equal(t, next+1, publish(t, second, testEvent("ten_a", 1)).Seq)
	require.Greater(t, publish(t, second, testEvent("ten_b", 1)).Seq, uint64(1))

	events, ok, err = second.Since(t.Context(), "ten_a", last)
	require.NoError(t, err)
	require.False(t, ok, "what the old process published after `last` is lost: resync")
	require.Empty(t, events)
	events, ok, err = second.Since(t.Context(), "ten_a", next)
	require.NoError(t, err)
	require.True(t, ok)
	require.Len(t, events, 1)
}
