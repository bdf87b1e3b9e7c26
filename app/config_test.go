package app

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConfigRequiresASecretWithPostgres(t *testing.T) {
	t.Parallel()
	_, err := LoadConfig(func(k string) string {
		return map[string]string{"DATABASE_URL": "postgres://db/x", "SWITCHBOARD_DATA_DIR": t.TempDir()}[k]
	})
	require.ErrorContains(t, err, "SWITCHBOARD_SECRET is required")

	cfg, err := LoadConfig(func(k string) string {
		return map[string]string{"DATABASE_URL": "postgres://db/x", "SWITCHBOARD_SECRET": strings.Repeat("s", 32)}[k]
	})
	require.NoError(t, err)
	require.False(t, cfg.Demo, "no demo on Postgres unless asked")
}

func TestConfigRejectsBadValues(t *testing.T) {
	t.Parallel()
	_, err := LoadConfig(func(k string) string {
		return map[string]string{"SWITCHBOARD_DATA_DIR": t.TempDir(), "SWITCHBOARD_MAX_QUERY_DEPTH": "deep", "SWITCHBOARD_ACCESS_TOKEN_TTL": "soon"}[k]
	})
	require.ErrorContains(t, err, "SWITCHBOARD_MAX_QUERY_DEPTH")
	require.ErrorContains(t, err, "SWITCHBOARD_ACCESS_TOKEN_TTL")
}
