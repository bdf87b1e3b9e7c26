package store_test

import (
	"os"
	"sync"
	"testing"
	"testing/fstest"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

func TestMigrate(t *testing.T) {
	t.Parallel()

	t.Run("AgreesWithEntSchema", func(t *testing.T) {
		t.Parallel()
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			pending, err := db.SchemaDiff(t.Context())
			require.NoError(t, err)
			require.Empty(t, pending, "store/migrations does not build the schema in ent/schema. "+
				"After changing ent/schema, run from the module root:\n\n"+
				"\tgo run ./store/migrategen -name <change>\n\nMissing statements:\n%s", pending)
		})
	})

	t.Run("AgainIsNoOp", func(t *testing.T) {
		t.Parallel()
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			applied := versions(t, db)
			require.Equal(t, "0001", applied[0])

			require.NoError(t, db.Migrate(t.Context()))
			require.NoError(t, db.Migrate(t.Context()))
			require.Equal(t, applied, versions(t, db))
		})
	})

	t.Run("ConcurrentCallsApplyOnce", func(t *testing.T) {
		t.Parallel()
		eachEmpty(t, func(t *testing.T, db *store.DB) {
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Go(func() { errs[i] = db.Migrate(t.Context()) })
			}
			wg.Wait()
			for _, err := range errs {
				require.NoError(t, err)
			}
			pending, err := db.SchemaDiff(t.Context())
			require.NoError(t, err)
			require.Empty(t, pending)
		})
	})

	t.Run("FailedFileLeavesNoTrace", func(t *testing.T) {
		t.Parallel()
		eachEmpty(t, func(t *testing.T, db *store.DB) {
			first := store.NewMigration("0001", "first", `CREATE TABLE first (id TEXT PRIMARY KEY)`)
			broken := store.NewMigration("0002", "second", `CREATE TABLE second (id TEXT PRIMARY KEY);
				INSERT INTO no_such_table VALUES (1);`)
			err := db.MigrateWith(t.Context(), first, broken)
			require.ErrorContains(t, err, "0002_second.sql")
			require.True(t, tableExists(t, db, "first"))
			require.False(t, tableExists(t, db, "second"))
			require.Equal(t, []string{"0001"}, versions(t, db))

			fixed := store.NewMigration("0002", "second", `CREATE TABLE second (id TEXT PRIMARY KEY)`)
			require.NoError(t, db.MigrateWith(t.Context(), first, fixed))
			require.True(t, tableExists(t, db, "second"))
			require.Equal(t, []string{"0001", "0002"}, versions(t, db))
		})
	})

	// Atlas changes a column on SQLite by rebuilding the table; dropping the
	// old table must not cascade into the rows that reference it.
	t.Run("SQLiteRebuildKeepsReferencingRows", func(t *testing.T) {
		t.Parallel()
		db := openEmpty(t, dialect.SQLite)
		ctx := t.Context()
		require.NoError(t, db.MigrateWith(ctx, parentsAndChildren))

		rebuild := store.NewMigration("0002", "rebuild_parents", `PRAGMA foreign_keys = off;
			CREATE TABLE new_parents (id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '');
			INSERT INTO new_parents (id) SELECT id FROM parents;
			DROP TABLE parents;
			ALTER TABLE new_parents RENAME TO parents;
			PRAGMA foreign_keys = on;`)
		require.NoError(t, db.MigrateWith(ctx, parentsAndChildren, rebuild))
		require.Equal(t, 1, count(t, db, "children"))

		// Enforcement is back on for every connection of the pool, the one
		// that migrated among them.
		for range 4 {
			conn, err := db.SQL.Conn(ctx)
			require.NoError(t, err)
			t.Cleanup(func() { conn.Close() })
			_, err = conn.ExecContext(ctx, `INSERT INTO children VALUES ('c2', 'missing')`)
			require.ErrorContains(t, err, "FOREIGN KEY constraint failed")
		}
	})

	t.Run("SQLiteRejectsDanglingReference", func(t *testing.T) {
		t.Parallel()
		db := openEmpty(t, dialect.SQLite)
		dangling := store.NewMigration("0002", "dangling", `INSERT INTO children VALUES ('c2', 'missing')`)
		err := db.MigrateWith(t.Context(), parentsAndChildren, dangling)
		require.ErrorContains(t, err, "row 2 of children references a missing parents")
		require.Equal(t, 1, count(t, db, "children"))
		require.Equal(t, []string{"0001"}, versions(t, db))
	})
}

func TestLoadMigrations(t *testing.T) {
	t.Parallel()

	files := func(names ...string) fstest.MapFS {
		fsys := fstest.MapFS{}
		for _, name := range names {
			fsys["migrations/sqlite/"+name] = &fstest.MapFile{Data: []byte("SELECT 1")}
		}
		return fsys
	}
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    []string
		wantErr string
	}{
		{
			name: "OrdersByNumber",
			fsys: files("0010_c.sql", "0002_b.sql", "0001_a.sql"),
			want: []string{"0001_a.sql", "0002_b.sql", "0010_c.sql"},
		},
		{
			name: "NoDirectoryIsNoMigrations",
			fsys: fstest.MapFS{},
			want: []string{},
		},
		{
			name:    "RejectsStrayFile",
			fsys:    files("0001_a.sql", "notes.txt"),
			wantErr: "notes.txt is not a migration file",
		},
		{
			name:    "RejectsUnpaddedVersion",
			fsys:    files("1_a.sql"),
			wantErr: "1_a.sql is not a migration file",
		},
		{
			name:    "RejectsSharedVersion",
			fsys:    files("0002_a.sql", "0002_b.sql"),
			wantErr: "migrations 0002_a.sql and 0002_b.sql share a version",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := store.LoadMigrations(tt.fsys, "migrations/sqlite")
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

var parentsAndChildren = store.NewMigration("0001", "parents_and_children", `
	CREATE TABLE parents (id TEXT PRIMARY KEY);
	CREATE TABLE children (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parents (id) ON DELETE CASCADE);
	INSERT INTO parents VALUES ('p1');
	INSERT INTO children VALUES ('c1', 'p1');`)

// eachEmpty is storetest.Each with databases no migration has touched.
func eachEmpty(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for name, d := range map[string]string{"sqlite": dialect.SQLite, "postgres": dialect.Postgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, openEmpty(t, d))
		})
	}
}

func openEmpty(t *testing.T, dialectName string) *store.DB {
	t.Helper()
	if dialectName == dialect.SQLite {
		db, err := store.Open(t.Context(), "sqlite:"+t.TempDir()+"/empty.db")
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		return db
	}
	databaseURL := os.Getenv(storetest.EnvDatabaseURL)
	if databaseURL == "" {
		t.Skip(storetest.EnvDatabaseURL + " not set: Postgres tests skipped")
	}
	db, drop, err := storetest.OpenSchema(t.Context(), databaseURL, "t_")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, drop()) })
	return db
}

func versions(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.SQL.QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	require.NoError(t, err)
	defer rows.Close()
	var vs []string
	for rows.Next() {
		var v string
		require.NoError(t, rows.Scan(&v))
		vs = append(vs, v)
	}
	require.NoError(t, rows.Err())
	return vs
}

func tableExists(t *testing.T, db *store.DB, table string) bool {
	t.Helper()
	rows, err := db.SQL.QueryContext(t.Context(), `SELECT * FROM `+table)
	if err != nil {
		return false
	}
	require.NoError(t, rows.Close())
	return true
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.SQL.QueryRowContext(t.Context(), `SELECT count(*) FROM `+table).Scan(&n))
	return n
}
