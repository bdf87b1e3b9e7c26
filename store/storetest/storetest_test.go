package storetest_test

import (
	"database/sql"
	"os"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	_ "github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

func TestEach(t *testing.T) {
	t.Parallel()

	storetest.Each(t, func(t *testing.T, db *store.DB) {
		wantDialect := map[string]string{"sqlite": dialect.SQLite, "postgres": dialect.Postgres}
		require.Equal(t, wantDialect[t.Name()[strings.LastIndex(t.Name(), "/")+1:]], db.Dialect)

		var migrated int
		require.NoError(t, db.SQL.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&migrated))
		require.NotZero(t, migrated)
	})
}

func TestOpen(t *testing.T) {
	t.Parallel()

	t.Run("IsolatesTests", func(t *testing.T) {
		t.Parallel()
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			other := storetest.Open(t, db.Dialect)
			_, err := db.SQL.ExecContext(t.Context(), `CREATE TABLE only_here (id TEXT)`)
			require.NoError(t, err)
			_, err = other.SQL.ExecContext(t.Context(), `SELECT * FROM only_here`)
			require.Error(t, err)
		})
	})

	t.Run("DropsPostgresSchema", func(t *testing.T) {
		t.Parallel()
		databaseURL := os.Getenv(storetest.EnvDatabaseURL)
		if databaseURL == "" {
			t.Skip(storetest.EnvDatabaseURL + " not set: Postgres tests skipped")
		}
		var schema string
		t.Run("Test", func(t *testing.T) {
			db := storetest.Open(t, dialect.Postgres)
			require.NoError(t, db.SQL.QueryRowContext(t.Context(), `SELECT current_schema()`).Scan(&schema))
			require.True(t, strings.HasPrefix(schema, "t_"), schema)
		})

		admin, err := sql.Open("postgres", databaseURL)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, admin.Close()) })
		var exists bool
		require.NoError(t, admin.QueryRowContext(t.Context(),
			`SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists))
		require.False(t, exists, "schema %s outlived its test", schema)
	})
}
