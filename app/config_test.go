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

// M7: the simulator's webhook secret is the installation's own (derived from
// its secret, generated per data directory), never a constant of the source;
// a configured app secret wins.
func TestSimulatorSecretIsPerInstallation(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) Config {
		t.Helper()
		cfg, err := LoadConfig(func(k string) string { return env[k] })
		require.NoError(t, err)
		return cfg
	}
	one := load(map[string]string{"SWITCHBOARD_DEMO": "true", "SWITCHBOARD_DATA_DIR": t.TempDir()})
	two := load(map[string]string{"SWITCHBOARD_DEMO": "true", "SWITCHBOARD_DATA_DIR": t.TempDir()})
	require.True(t, one.Simulator)
	require.GreaterOrEqual(t, len(one.WhatsAppAppSecret), 32)
	require.NotEqual(t, string(one.WhatsAppAppSecret), string(two.WhatsAppAppSecret), "each data directory has its own")
	require.NotEqual(t, "switchboard-demo-app-secret", string(one.WhatsAppAppSecret))
	again := load(map[string]string{"SWITCHBOARD_DEMO": "true", "SWITCHBOARD_DATA_DIR": one.DataDir})
	require.Equal(t, one.WhatsAppAppSecret, again.WhatsAppAppSecret, "kept across restarts")

	// An instance pointing at another's simulator, with the deployment's secret, agrees with it.
	shared := map[string]string{"DATABASE_URL": "postgres://db/x", "SWITCHBOARD_SECRET": strings.Repeat("d", 40), "SWITCHBOARD_DEMO": "true"}
	a := load(shared)
	shared["SWITCHBOARD_SIM_URL"] = "http://a.internal:8080/sim"
	b := load(shared)
	require.Equal(t, a.WhatsAppAppSecret, b.WhatsAppAppSecret)
	shared["SWITCHBOARD_WHATSAPP_APP_SECRET"] = "configured"
	require.Equal(t, "configured", string(load(shared).WhatsAppAppSecret))
}
