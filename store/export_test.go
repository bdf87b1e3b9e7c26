package store

import (
	"context"
	"io/fs"
	"path"
	"time"
)

// Migration is a migration file, for tests that run their own.
type Migration = migration

// NewMigration returns the migration version_name.sql with body sql.
func NewMigration(version, name, sql string) Migration {
	return migration{version: version, file: version + "_" + name + ".sql", sql: sql}
}

// LoadMigrations exposes loadMigrations.
func LoadMigrations(fsys fs.FS, dir string) ([]string, error) {
	ms, err := loadMigrations(fsys, dir)
	files := make([]string, len(ms))
	for i, m := range ms {
		files[i] = m.file
	}
	return files, err
}

// MigrateWith applies migrations instead of the embedded ones.
func (db *DB) MigrateWith(ctx context.Context, migrations ...Migration) error {
	return db.migrate(ctx, migrations)
}

// SQLiteDSN exposes sqliteDSN.
var SQLiteDSN = sqliteDSN

// Migrations is the embedded migration files.
var Migrations = migrationFiles

// MigrateTo applies the embedded migrations up to and including version, as
// a database at that schema would be.
func (db *DB) MigrateTo(ctx context.Context, version string) error {
	ms, err := loadMigrations(migrationFiles, path.Join("migrations", migrationDirs[db.Dialect]))
	if err != nil {
		return err
	}
	var upTo []migration
	for _, m := range ms {
		if versionNumber(m.version) <= versionNumber(version) {
			upTo = append(upTo, m)
		}
	}
	return db.migrate(ctx, upTo)
}

// StmtCacheSize exposes stmtCacheSize.
const StmtCacheSize = stmtCacheSize

// WithCheckpoints sets the checkpointer's period and the log size past which
// it truncates the log.
func WithCheckpoints(every time.Duration, truncateBytes int64) Option {
	return func(o *options) { o.checkpointEvery, o.truncateBytes = every, truncateBytes }
}

// OwnsCheckpoints reports whether db checkpoints its SQLite log itself.
func (db *DB) OwnsCheckpoints() bool { return db.checkpoints != nil }
