// Package storetest gives each test a migrated database of its own: an SQLite
// file always, and a PostgreSQL schema when TEST_DATABASE_URL is set, e.g.
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go test ./...
//
// Nothing is shared between tests, so tests and packages run in parallel.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/store"
)

// EnvDatabaseURL names the variable holding the PostgreSQL database that tests
// create their schemas in. Unset, PostgreSQL tests are skipped.
const EnvDatabaseURL = "TEST_DATABASE_URL"

// Each runs fn once per database as subtests "sqlite" and "postgres", in
// parallel, each with a fresh migrated database. The PostgreSQL subtest is
// skipped when TEST_DATABASE_URL is unset.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range []struct{ name, dialect string }{
		{"sqlite", dialect.SQLite},
		{"postgres", dialect.Postgres},
	} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, d.dialect))
		})
	}
}

// Open returns a fresh migrated database of the dialect (dialect.SQLite or
// dialect.Postgres), closed and removed when the test ends. For PostgreSQL it
// skips the test when TEST_DATABASE_URL is unset.
func Open(t testing.TB, dialectName string, opts ...store.Option) *store.DB {
	t.Helper()
	var (
		db  *store.DB
		err error
	)
	switch dialectName {
	case dialect.SQLite:
		db, err = store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "test.db"), opts...)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
	case dialect.Postgres:
		databaseURL := os.Getenv(EnvDatabaseURL)
		if databaseURL == "" {
			t.Skip(EnvDatabaseURL + " not set: Postgres tests skipped")
		}
		var drop func() error
		db, drop, err = OpenSchema(t.Context(), databaseURL, "t_", opts...)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, drop()) })
		// Many tests run at once; keep each one's share of max_connections small.
		db.SQL.SetMaxOpenConns(4)
		db.SQL.SetMaxIdleConns(2)
	default:
		t.Fatalf("storetest: unknown dialect %q", dialectName)
	}
	require.NoError(t, db.Migrate(t.Context()))
	return db
}

// OpenSchema opens the PostgreSQL database at databaseURL confined to a new,
// empty schema named prefix and a random suffix: every connection has its
// search_path set to it. drop removes the schema with all it holds and closes
// the database. The schema is not migrated.
func OpenSchema(ctx context.Context, databaseURL, prefix string, opts ...store.Option) (db *store.DB, drop func() error, err error) {
	schema := prefix + randomSuffix()
	u, err := neturl.Parse(databaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("storetest: parse database URL: %w", err)
	}
	// lib/pq sends parameters it does not know as run-time parameters.
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err = store.Open(ctx, u.String(), opts...)
	if err != nil {
		return nil, nil, err
	}
	if db.Dialect != dialect.Postgres {
		db.Close()
		return nil, nil, fmt.Errorf("storetest: %s is not a PostgreSQL URL", u.Redacted())
	}
	// The name is ours: lower case letters, digits and underscores.
	if _, err := db.SQL.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("storetest: create schema %s: %w", schema, err)
	}
	drop = func() error {
		_, err := db.SQL.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		// DROP SCHEMA … CASCADE locks every table of the schema; with other
		// tests' schemas dropped at the same moment (shared catalogue rows)
		// Postgres may pick this one as a deadlock victim (40P01). Dropping
		// again is safe.
		for i := 0; err != nil && strings.Contains(err.Error(), "40P01") && i < 5; i++ {
			time.Sleep(time.Duration(i+1) * 100 * time.Millisecond)
			_, err = db.SQL.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		}
		if err != nil {
			err = fmt.Errorf("storetest: drop schema %s: %w", schema, err)
		}
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return db, drop, nil
}

// EmptySchema returns the URL of a new, empty PostgreSQL schema (not
// migrated) in TEST_DATABASE_URL's database, dropped when the test ends: what
// instances starting on an empty database see. It skips the test when
// TEST_DATABASE_URL is unset.
func EmptySchema(t testing.TB) string {
	t.Helper()
	databaseURL := os.Getenv(EnvDatabaseURL)
	if databaseURL == "" {
		t.Skip(EnvDatabaseURL + " not set: Postgres tests skipped")
	}
	db, drop, err := OpenSchema(t.Context(), databaseURL, "t_empty_")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, drop()) })
	return schemaURL(t, databaseURL, currentSchema(t, db))
}

func currentSchema(t testing.TB, db *store.DB) string {
	t.Helper()
	var schema string
	require.NoError(t, db.SQL.QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&schema))
	return schema
}

func schemaURL(t testing.TB, databaseURL, schema string) string {
	t.Helper()
	u, err := neturl.Parse(databaseURL)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails, see crypto/rand.Read
	return hex.EncodeToString(b)
}

// Instances returns n pools onto one fresh migrated database of the dialect,
// as n server instances would hold: what one writes, the others read, and
// they race for the same rows. Closed and removed when the test ends.
func Instances(t testing.TB, dialectName string, n int) []*store.DB {
	t.Helper()
	first := Open(t, dialectName)
	dbs := []*store.DB{first}
	var url string
	switch dialectName {
	case dialect.SQLite:
		var file string
		require.NoError(t, first.SQL.QueryRowContext(t.Context(), "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file))
		url = "sqlite:" + file
	default:
		url = schemaURL(t, os.Getenv(EnvDatabaseURL), currentSchema(t, first))
	}
	for range n - 1 {
		db, err := store.Open(t.Context(), url)
		require.NoError(t, err)
		if dialectName == dialect.Postgres {
			db.SQL.SetMaxOpenConns(4)
		}
		// closed before the first one drops the schema (cleanups run last first)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		dbs = append(dbs, db)
	}
	return dbs
}
