package job_test

import (
	"database/sql"
	"log/slog"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/store"
)

func TestMigrationSQL(t *testing.T) {
	t.Parallel()

	t.Run("RiverSeesItsVersionsApplied", func(t *testing.T) {
		t.Parallel()
		eachEmpty(t, func(t *testing.T, db *store.DB) {
			migrateRiver(t, db, 0)
			migrator := newMigrator(t, db)
			res, err := migrator.Validate(t.Context())
			require.NoError(t, err)
			require.True(t, res.OK, res.Messages)

			up, err := migrator.Migrate(t.Context(), rivermigrate.DirectionUp, nil)
			require.NoError(t, err)
			require.Empty(t, up.Versions, "River's migrator would apply versions a second time")

			existing, err := migrator.ExistingVersions(t.Context())
			require.NoError(t, err)
			require.Equal(t, versions(migrator.AllVersions()), versions(existing))
		})
	})

	t.Run("BuildsWhatRiversMigratorBuilds", func(t *testing.T) {
		t.Parallel()
		eachEmpty(t, func(t *testing.T, ours *store.DB) {
			migrateRiver(t, ours, 0)
			rivers := openEmpty(t, ours.Dialect)
			_, err := newMigrator(t, rivers).Migrate(t.Context(), rivermigrate.DirectionUp, nil)
			require.NoError(t, err)
			require.Equal(t, riverSchema(t, rivers), riverSchema(t, ours))
		})
	})

	// Files after River's bring the ent schema, which knows nothing of River,
	// and store/migrategen must not see River's tables as a difference.
	t.Run("LeavesEntSchemaAlone", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, db *store.DB) {
			pending, err := db.SchemaDiff(t.Context())
			require.NoError(t, err)
			require.Empty(t, pending)
		})
	})

	// A later River release brings new versions: -after writes only those.
	t.Run("UpgradesFromEarlierVersion", func(t *testing.T) {
		t.Parallel()
		eachEmpty(t, func(t *testing.T, db *store.DB) {
			migrator := newMigrator(t, db)
			_, err := migrator.Migrate(t.Context(), rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: 4})
			require.NoError(t, err)

			migrateRiver(t, db, 4)
			res, err := migrator.Validate(t.Context())
			require.NoError(t, err)
			require.True(t, res.OK, res.Messages)
		})
	})

	t.Run("NothingAfterLastVersion", func(t *testing.T) {
		t.Parallel()
		for _, d := range []string{dialect.SQLite, dialect.Postgres} {
			_, err := job.MigrationSQL(d, 6)
			require.ErrorContains(t, err, "no migration after version 6")
		}
	})

	t.Run("RejectsUnknownDialect", func(t *testing.T) {
		t.Parallel()
		_, err := job.MigrationSQL("mysql", 0)
		require.ErrorContains(t, err, `unsupported dialect "mysql"`)
	})
}

func newMigrator(t testing.TB, db *store.DB) *rivermigrate.Migrator[*sql.Tx] {
	t.Helper()
	cfg := &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)}
	var (
		m   *rivermigrate.Migrator[*sql.Tx]
		err error
	)
	switch db.Dialect {
	case dialect.SQLite:
		m, err = rivermigrate.New(riversqlite.New(db.SQL), cfg)
	case dialect.Postgres:
		m, err = rivermigrate.New(riverdatabasesql.New(db.SQL), cfg)
	}
	require.NoError(t, err)
	return m
}

func versions(ms []rivermigrate.Migration) []int {
	vs := make([]int, len(ms))
	for i, m := range ms {
		vs[i] = m.Version
	}
	return vs
}

// riverSchema describes River's tables, indexes, constraints, types and
// functions, and the versions River recorded, one line each.
func riverSchema(t testing.TB, db *store.DB) []string {
	t.Helper()
	query := map[string]string{
		dialect.SQLite: `
			SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master WHERE tbl_name LIKE 'river%'
			UNION ALL SELECT 'version ' || line || ' ' || version FROM river_migration
			ORDER BY 1`,
		dialect.Postgres: `
			SELECT 'relation ' || relname || ' ' || relkind::text || relpersistence::text FROM pg_class
				WHERE relnamespace = current_schema()::regnamespace AND relname LIKE 'river%'
			UNION ALL SELECT 'column ' || table_name || '.' || column_name || ' ' || udt_name || ' ' || is_nullable || ' ' || coalesce(column_default, '')
				FROM information_schema.columns WHERE table_schema = current_schema() AND table_name LIKE 'river%'
			UNION ALL SELECT 'index ' || replace(indexdef, current_schema() || '.', '')
				FROM pg_indexes WHERE schemaname = current_schema() AND tablename LIKE 'river%'
			UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
				FROM pg_constraint WHERE connamespace = current_schema()::regnamespace AND conrelid::regclass::text LIKE 'river%'
			UNION ALL SELECT 'enum ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
				FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
				WHERE t.typnamespace = current_schema()::regnamespace GROUP BY t.typname
			UNION ALL SELECT 'function ' || proname || '(' || pg_get_function_identity_arguments(oid) || ') ' || md5(prosrc)
				FROM pg_proc WHERE pronamespace = current_schema()::regnamespace
			UNION ALL SELECT 'version ' || line || ' ' || version FROM river_migration
			ORDER BY 1`,
	}[db.Dialect]
	rows, err := db.SQL.QueryContext(t.Context(), query)
	require.NoError(t, err)
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		lines = append(lines, line)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, lines)
	return lines
}
