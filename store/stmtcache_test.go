package store_test

import (
	"context"
	"database/sql"
	"fmt"
	neturl "net/url"
	"os"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// prepared counts the statements the session of conn keeps prepared.
func prepared(t *testing.T, conn *sql.Conn) int {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_prepared_statements`).Scan(&n))
	return n
}

// A Postgres connection prepares a statement with arguments once and runs
// it again by name; it keeps at most StmtCacheSize, closing the least
// recently used on the server; statements without arguments and large ones
// are not kept; statement_cache=off keeps none.
func TestStatementCache(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, dialect.Postgres) // skips without TEST_DATABASE_URL
	ctx := t.Context()
	conn, err := db.SQL.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	before := prepared(t, conn)
	for i := range 5 {
		var got int
		require.NoError(t, conn.QueryRowContext(ctx, `SELECT $1::int + 1`, i).Scan(&got))
		require.Equal(t, i+1, got)
	}
	require.Equal(t, before+1, prepared(t, conn), "prepared once, run five times")
	_, err = conn.ExecContext(ctx, `CREATE TEMP TABLE probe (n int)`)
	require.NoError(t, err)
	for i := range 3 {
		res, err := conn.ExecContext(ctx, `INSERT INTO probe (n) VALUES ($1)`, i)
		require.NoError(t, err)
		n, err := res.RowsAffected()
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
	}
	require.Equal(t, before+2, prepared(t, conn))
	// a transaction's statements go through the same connection's cache,
	// and an error inside one leaves the cache usable
	tx, err := conn.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, `INSERT INTO probe (n) VALUES ($1)`, "not a number")
	require.Error(t, err)
	require.NoError(t, tx.Rollback())
	var count int
	require.NoError(t, conn.QueryRowContext(ctx, `SELECT count(*) FROM probe WHERE n >= $1`, 0).Scan(&count))
	require.Equal(t, 3, count)

	large := make([]string, 65)
	args := make([]any, 65)
	for i := range large {
		large[i], args[i] = fmt.Sprintf("$%d::int", i+1), i
	}
	require.NoError(t, conn.QueryRowContext(ctx, `SELECT `+strings.Join(large, " + "), args...).Scan(&count))
	require.Equal(t, 64*65/2, count)
	require.Equal(t, before+3, prepared(t, conn), "65 arguments: not kept")

	for i := range store.StmtCacheSize + 10 {
		require.NoError(t, conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT $1::int + %d`, i), 1).Scan(&count))
	}
	require.Equal(t, store.StmtCacheSize, prepared(t, conn), "the least recently used are closed on the server")
}

func TestStatementCacheOff(t *testing.T) {
	t.Parallel()
	base := os.Getenv(storetest.EnvDatabaseURL)
	if base == "" {
		t.Skip(storetest.EnvDatabaseURL + " not set: Postgres tests skipped")
	}
	u, err := neturl.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("statement_cache", "maybe")
	u.RawQuery = q.Encode()
	_, err = store.Open(t.Context(), u.String())
	require.ErrorContains(t, err, `statement_cache="maybe": on or off`)

	q.Set("statement_cache", "off")
	u.RawQuery = q.Encode()
	db, err := store.Open(t.Context(), u.String())
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.SQL.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	for i := range 3 {
		require.NoError(t, conn.QueryRowContext(t.Context(), `SELECT $1::int`, i).Scan(new(int)))
	}
	require.Zero(t, prepared(t, conn))
}
