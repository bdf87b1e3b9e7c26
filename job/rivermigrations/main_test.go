package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/job"
)

func TestRun(t *testing.T) {
	t.Parallel()

	t.Run("WritesOneFilePerDialect", func(t *testing.T) {
		t.Parallel()
		out := t.TempDir()
		require.NoError(t, run([]string{"-out", out, "-version", "0003", "-name", "river"}, io.Discard))
		for d, dir := range dirs {
			body, err := os.ReadFile(filepath.Join(out, dir, "0003_river.sql"))
			require.NoError(t, err)
			want, err := job.MigrationSQL(d, 0)
			require.NoError(t, err)
			require.True(t, strings.HasSuffix(string(body), want), "%s: the file is not River's migration", dir)
			require.Contains(t, string(body), "River v0.34.0")
		}
	})

	t.Run("AfterSkipsAppliedVersions", func(t *testing.T) {
		t.Parallel()
		out := t.TempDir()
		require.NoError(t, run([]string{"-out", out, "-version", "0007", "-name", "river_upgrade", "-after", "4"}, io.Discard))
		body, err := os.ReadFile(filepath.Join(out, "sqlite", "0007_river_upgrade.sql"))
		require.NoError(t, err)
		require.NotContains(t, string(body), "River migration 004")
		require.Contains(t, string(body), "River migration 005")
	})

	t.Run("RefusesTakenVersion", func(t *testing.T) {
		t.Parallel()
		out := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(out, "sqlite"), 0o755))
		taken := filepath.Join(out, "sqlite", "0003_permissions.sql")
		require.NoError(t, os.WriteFile(taken, []byte("SELECT 1;"), 0o644))

		err := run([]string{"-out", out, "-version", "0003"}, io.Discard)
		require.ErrorContains(t, err, "0003_permissions.sql has version 0003")
		require.NoFileExists(t, filepath.Join(out, "postgres", "0003_river.sql"), "a half-written pair")
	})

	t.Run("RejectsBadFileNames", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name    string
			args    []string
			wantErr string
		}{
			{name: "NoVersion", args: nil, wantErr: `-version ""`},
			{name: "ShortVersion", args: []string{"-version", "3"}, wantErr: `-version "3"`},
			{name: "UpperCaseName", args: []string{"-version", "0003", "-name", "River"}, wantErr: `-name "River"`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				err := run(append([]string{"-out", t.TempDir()}, tt.args...), io.Discard)
				require.ErrorContains(t, err, tt.wantErr)
			})
		}
	})

}
