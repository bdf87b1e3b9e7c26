package realtime

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// envDatabaseURL names the PostgreSQL database the PostgreSQL bus tests make
// their schemas in, e.g.
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable
const envDatabaseURL = "TEST_DATABASE_URL"

// postgresDriver gives each test a schema holding PostgresSchema and a
// NOTIFY channel of its own, as tests share the database.
func postgresDriver() busDriver {
	return busDriver{
		name:     "postgres",
		isShared: true,
		backend: func(t *testing.T) *testBackend {
			databaseURL := os.Getenv(envDatabaseURL)
			if databaseURL == "" {
				t.Skip(envDatabaseURL + " not set: PostgreSQL bus tests skipped")
			}
			name := "rt_" + randomSuffix(t)
			createSchema(t, databaseURL, name)
			schemaURL := withParams(t, databaseURL, "search_path", name)
			db, err := sql.Open("postgres", schemaURL)
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, db.Close()) })
			db.SetMaxOpenConns(4)
			_, err = db.ExecContext(t.Context(), PostgresSchema)
			require.NoError(t, err)

			// The listeners' application name tells interrupt whose
			// connections to end.
			listenerURL := withParams(t, schemaURL, "application_name", name)
			return &testBackend{
				open: func(t *testing.T, opts ...Option) Bus {
					b, err := NewPostgres(t.Context(), db, listenerURL, append([]Option{WithPostgresChannel(name)}, opts...)...)
					require.NoError(t, err)
					t.Cleanup(func() { require.NoError(t, b.Close()) })
					return b
				},
				interrupt: func(t *testing.T) {
					var ended int
					err := db.QueryRowContext(t.Context(),
						`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, name,
					).Scan(&ended)
					require.NoError(t, err)
					require.NotZero(t, ended, "no listener connection to end")
				},
			}
		},
	}
}

// createSchema makes an empty schema, dropped with all it holds when the
// test ends.
func createSchema(t *testing.T, databaseURL, name string) {
	t.Helper()
	admin, err := sql.Open("postgres", databaseURL)
	require.NoError(t, err)
	// name is ours: lower case letters, digits and underscores.
	_, err = admin.ExecContext(t.Context(), `CREATE SCHEMA `+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+name+` CASCADE`)
		require.NoError(t, err)
		require.NoError(t, admin.Close())
	})
}

// withParams returns rawURL with the query parameter key set to value;
// lib/pq sends parameters it does not know as run-time parameters.
func withParams(t *testing.T, rawURL, key, value string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestPostgresKeepsOnlyTheWindow(t *testing.T) {
	t.Parallel()
	backend := postgresDriver().backend(t)
	bus := backend.open(t, WithWindow(3))
	for i := range 10 {
		publish(t, bus, testEvent("ten_a", i))
	}

	var rows, oldest int
	err := bus.(*postgresBus).db.QueryRowContext(t.Context(),
		`SELECT count(*), min(seq) FROM realtime_events WHERE tenant_id = 'ten_a'`).Scan(&rows, &oldest)
	require.NoError(t, err)
	require.Equal(t, 3, rows)
	require.Equal(t, 8, oldest)
}

func TestNewPostgresFailsWithoutDatabase(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("postgres", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })

	_, err = NewPostgres(t.Context(), db, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")

	require.Error(t, err)
}
