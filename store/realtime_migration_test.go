package store_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
)

// The Postgres event bus's tables are created by a project migration; this
// keeps it equal to the DDL the bus declares.
func TestRealtimeMigrationMatchesTheBus(t *testing.T) {
	t.Parallel()
	b, err := fs.ReadFile(store.Migrations, "migrations/postgres/0003_realtime.sql")
	require.NoError(t, err)
	require.Contains(t, string(b), strings.TrimSpace(realtime.PostgresSchema),
		"store/migrations/postgres/0003_realtime.sql must create realtime.PostgresSchema")
}

// The memory bus keeps its sequences in a SQLite table a migration creates.
func TestRealtimeSequencesMigrationMatchesTheBus(t *testing.T) {
	t.Parallel()
	b, err := fs.ReadFile(store.Migrations, "migrations/sqlite/0011_realtime_sequences.sql")
	require.NoError(t, err)
	require.Contains(t, string(b), strings.TrimSpace(realtime.SQLiteSchema),
		"store/migrations/sqlite/0011_realtime_sequences.sql must create realtime.SQLiteSchema")
}
