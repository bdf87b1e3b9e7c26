package store

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"sync"

	"ariga.io/atlas/sql/postgres"
	atlas "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"

	"github.com/switchboard-dev/switchboard/ent/migrate"
)

// migrationFiles holds one directory of NNNN_name.sql files per dialect,
// written by store/migrategen.
//
//go:embed migrations
var migrationFiles embed.FS

// migrationDirs names the directory under store/migrations that holds the
// migrations of each dialect; store/migrategen writes there.
var migrationDirs = map[string]string{
	dialect.SQLite:   "sqlite",
	dialect.Postgres: "postgres",
}

// migrationFile matches the name of a migration file; the first group is its
// version.
var migrationFile = regexp.MustCompile(`^([0-9]{4,})_[a-z0-9_]+\.sql$`)

// migration is one file of versioned migrations.
type migration struct {
	version string // "0001", recorded in schema_migrations
	file    string // "0001_init.sql"
	sql     string
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version TEXT PRIMARY KEY,
	applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)`

// Migrate applies, in version order, each embedded migration of the dialect
// that schema_migrations does not record. A file runs in a transaction of its
// own together with its record, so a failing file leaves the database as the
// previous file left it.
//
// Migrate is safe to call at every start, also from instances starting
// together: on PostgreSQL they take turns on an advisory lock per schema, on
// SQLite they queue for the write lock.
func (db *DB) Migrate(ctx context.Context) error {
	dir, ok := migrationDirs[db.Dialect]
	if !ok {
		return fmt.Errorf("store: migrate: no migrations for dialect %q", db.Dialect)
	}
	migrations, err := loadMigrations(migrationFiles, path.Join("migrations", dir))
	if err != nil {
		return err
	}
	return db.migrate(ctx, migrations)
}

// loadMigrations reads the migration files in dir, ordered by version.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // No migrations written yet.
	}
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var migrations []migration
	for _, e := range entries {
		match := migrationFile.FindStringSubmatch(e.Name())
		if match == nil || e.IsDir() {
			return nil, fmt.Errorf("store: %s/%s is not a migration file (want NNNN_name.sql)", dir, e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: read migration: %w", err)
		}
		migrations = append(migrations, migration{version: match[1], file: e.Name(), sql: string(body)})
	}
	slices.SortFunc(migrations, func(a, b migration) int {
		return versionNumber(a.version) - versionNumber(b.version)
	})
	for i := 1; i < len(migrations); i++ {
		if versionNumber(migrations[i].version) == versionNumber(migrations[i-1].version) {
			return nil, fmt.Errorf("store: migrations %s and %s share a version", migrations[i-1].file, migrations[i].file)
		}
	}
	return migrations, nil
}

// versionNumber is the numeric value of a version matched by migrationFile.
func versionNumber(version string) int {
	n, _ := strconv.Atoi(version)
	return n
}

func (db *DB) migrate(ctx context.Context, migrations []migration) error {
	return db.exclusive(ctx, func(conn *sql.Conn) error { return db.migrateOn(ctx, conn, migrations) })
}

// Exclusive runs fn under the lock migrations take, so that the start-up
// writes of instances starting together (the demo seed, built-in roles, the
// simulator's credentials) take turns like their migrations: a
// check-then-insert among them never races another instance's. On
// PostgreSQL that is the advisory lock per schema; SQLite has one writer, and
// fn's own transactions (immediate) serialise there.
func (db *DB) Exclusive(ctx context.Context, fn func(ctx context.Context) error) error {
	if db.Dialect != dialect.Postgres {
		return fn(ctx) // holding a connection of SQLite's small pool would only starve fn
	}
	return db.exclusive(ctx, func(*sql.Conn) error { return fn(ctx) })
}

// Hold takes the PostgreSQL advisory lock called name, in the current schema,
// without waiting, and keeps it until release is called (or the connection
// ends): ok is false when another session holds it. It marks the one
// instance of a deployment that does something (runs the simulator). On
// SQLite, a single instance's database, ok is always true.
func (db *DB) Hold(ctx context.Context, name string) (release func() error, ok bool, err error) {
	if db.Dialect != dialect.Postgres {
		return func() error { return nil }, true, nil
	}
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("store: hold %s: %w", name, err)
	}
	key := `hashtext('switchboard.' || $1 || '.' || current_schema())`
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(`+key+`)`, name).Scan(&ok); err != nil || !ok {
		conn.Close()
		if err != nil {
			err = fmt.Errorf("store: hold %s: %w", name, err)
		}
		return nil, false, err
	}
	return func() error {
		_, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(`+key+`)`, name)
		return conn.Close()
	}, true, nil
}

// exclusive runs fn with a connection that holds the migrations' lock.
func (db *DB) exclusive(ctx context.Context, fn func(conn *sql.Conn) error) error {
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: lock: %w", err)
	}
	defer conn.Close()
	if db.Dialect == dialect.Postgres {
		unlock, err := lockMigrations(ctx, conn)
		if err != nil {
			return err
		}
		defer unlock()
	}
	return fn(conn)
}

func (db *DB) migrateOn(ctx context.Context, conn *sql.Conn, migrations []migration) error {
	if _, err := conn.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if applied[m.version] {
			continue
		}
		if err := db.apply(ctx, conn, m); err != nil {
			return fmt.Errorf("store: migration %s: %w", m.file, err)
		}
	}
	return nil
}

// migrationLockKey identifies the advisory lock of the schema being migrated,
// so that databases in other schemas (parallel tests) migrate undisturbed.
const migrationLockKey = `hashtext('switchboard.migrate.' || current_schema())`

// lockMigrations waits for the PostgreSQL advisory lock that serializes
// migrations. The lock belongs to conn's session, which is why every
// migration statement runs on conn.
func lockMigrations(ctx context.Context, conn *sql.Conn) (unlock func(), err error) {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+migrationLockKey+`)`); err != nil {
		return nil, fmt.Errorf("store: lock migrations: %w", err)
	}
	return func() {
		// Closing the session releases the lock should this fail.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+migrationLockKey+`)`)
	}, nil
}

func appliedVersions(ctx context.Context, conn *sql.Conn) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := make(map[string]bool)
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("store: read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	return applied, nil
}

// apply runs one migration and records it, in one transaction.
func (db *DB) apply(ctx context.Context, conn *sql.Conn, m migration) (err error) {
	if db.Dialect == dialect.SQLite {
		// Changing a column on SQLite rebuilds the table: create a copy, move
		// the rows, drop the original, rename the copy. Dropping a table that
		// other rows reference must not cascade, and SQLite switches
		// enforcement off only outside a transaction (the PRAGMAs Atlas writes
		// into the file are no-ops inside it); checkForeignKeys stands in for
		// it at the end.
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = off`); err != nil {
			return fmt.Errorf("disable foreign keys: %w", err)
		}
		defer func() { err = errors.Join(err, enableForeignKeys(ctx, conn)) }()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	b := entsql.Dialect(db.Dialect)
	query, args := b.Select("version").From(entsql.Table("schema_migrations")).
		Where(entsql.EQ("version", m.version)).Query()
	switch err := tx.QueryRowContext(ctx, query, args...).Scan(new(string)); {
	case err == nil:
		return nil // Another instance applied it since we looked.
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	// One Exec runs the whole file: lib/pq and modernc.org/sqlite both execute
	// every statement of a multi-statement query without arguments.
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if db.Dialect == dialect.SQLite {
		if err := checkForeignKeys(ctx, tx); err != nil {
			return err
		}
	}
	query, args = b.Insert("schema_migrations").Columns("version").Values(m.version).Query()
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("record version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// checkForeignKeys fails if any row of the SQLite database references a row
// that does not exist.
func checkForeignKeys(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("check foreign keys: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var (
			table, parent string
			rowid         sql.NullInt64
			fk            int
		)
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return fmt.Errorf("check foreign keys: %w", err)
		}
		return fmt.Errorf("foreign key violation: row %d of %s references a missing %s", rowid.Int64, table, parent)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check foreign keys: %w", err)
	}
	return nil
}

// enableForeignKeys switches enforcement back on before conn returns to the
// pool. A connection where that fails is discarded instead.
func enableForeignKeys(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = on`)
	if err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		return fmt.Errorf("enable foreign keys: %w", err)
	}
	return nil
}

// diffMu serializes SchemaDiff: ent's migration engine writes to the table
// definitions all clients share (ent/migrate.Tables).
var diffMu sync.Mutex

// SchemaDiff returns the SQL statements that would bring the database to the
// ent schema (ent/schema), or "" when the two agree. Statements are
// unqualified, so they apply to whichever schema a connection uses.
func (db *DB) SchemaDiff(ctx context.Context) (string, error) {
	diffMu.Lock()
	defer diffMu.Unlock()
	var buf bytes.Buffer
	opts := []schema.MigrateOption{
		migrate.WithDropIndex(true),
		migrate.WithDropColumn(true),
		migrate.WithForeignKeys(true),
	}
	if db.Dialect == dialect.Postgres {
		opts = append(opts, schema.WithDiffHook(nullsFirstParts))
	}
	err := db.Client.Schema.WriteTo(ctx, &buf, opts...)
	if err != nil {
		return "", fmt.Errorf("store: diff ent schema: %w", err)
	}
	return buf.String(), nil
}

// nullsFirst names the index columns that Postgres must sort NULLS FIRST
// (table, index, column), which ent's index annotations cannot say: routing's
// least-loaded claim orders by last_assigned_at ASC NULLS FIRST, and its
// index must be in that order for the claim's LIMIT 1 to stop at the first
// eligible agent (migration 0032). SQLite sorts NULL first already.
var nullsFirst = [][3]string{
	{"agents", "agent_tenant_id_presence_open_count_last_assigned_at_id", "last_assigned_at"},
}

// nullsFirstParts marks the nullsFirst columns of the desired schema before
// ent diffs it with the database, so the diff (TestMigrate, migrategen)
// expects them.
func nullsFirstParts(next schema.Differ) schema.Differ {
	return schema.DiffFunc(func(current, desired *atlas.Schema) ([]atlas.Change, error) {
		for _, nf := range nullsFirst {
			t, ok := desired.Table(nf[0])
			if !ok {
				continue
			}
			idx, ok := t.Index(nf[1])
			if !ok {
				continue
			}
			for _, part := range idx.Parts {
				if part.C != nil && part.C.Name == nf[2] {
					part.Attrs = append(part.Attrs, &postgres.IndexColumnProperty{NullsFirst: true})
				}
			}
		}
		return next.Diff(current, desired)
	})
}
