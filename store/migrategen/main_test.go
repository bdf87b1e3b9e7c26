package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name, migration, devURL, wantErr string
	}{
		{"RejectsMissingName", "", "postgres://localhost/dev", `-name "": want snake_case`},
		{"RejectsOddName", "Add-Color", "postgres://localhost/dev", `-name "Add-Color": want snake_case`},
		{"RequiresPostgres", "add_color", "", "no PostgreSQL database to diff against"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.ErrorContains(t, run(t.Context(), tt.migration, tt.devURL), tt.wantErr)
		})
	}
}

// The files of one change share a version, even when one dialect had changes
// the other did not.
func TestNextVersion(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, file := range []string{"sqlite/0001_init.sql", "sqlite/0002_sqlite_only.sql", "postgres/0001_init.sql"} {
		path := filepath.Join(migrationsDir, file)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, nil, 0o644))
	}
	version, err := nextVersion()
	require.NoError(t, err)
	require.Equal(t, 3, version)
}
