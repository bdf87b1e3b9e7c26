package store

import (
	"context"
	"io/fs"
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
