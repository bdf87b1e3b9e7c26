package realtime

import (
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpenPicksTheConfiguredBus(t *testing.T) {
	t.Parallel()
	databaseURL, natsURL := os.Getenv(envDatabaseURL), os.Getenv(envNATSURL)
	suffix := randomSuffix(t)
	opts := []Option{WithPostgresChannel("rt_" + suffix), WithNATSStream("RT_"+strings.ToUpper(suffix), "rt."+suffix)}
	tests := []struct {
		name                 string
		databaseURL, natsURL string
		needs                string // an environment variable the case needs
		want                 Bus
	}{
		{"no configuration: memory", "", "", "", &memoryBus{}},
		{"SQLite: memory", "sqlite:data/switchboard.db", "", "", &memoryBus{}},
		{"PostgreSQL", databaseURL, "", envDatabaseURL, &postgresBus{}},
		{"NATS before PostgreSQL", databaseURL, natsURL, envNATSURL, &natsBus{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needs != "" && os.Getenv(tt.needs) == "" {
				t.Skip(tt.needs + " not set")
			}
			var db *sql.DB
			if tt.databaseURL != "" {
				var err error
				db, err = sql.Open("postgres", tt.databaseURL)
				require.NoError(t, err)
				t.Cleanup(func() { require.NoError(t, db.Close()) })
			}
			if tt.natsURL != "" {
				t.Cleanup(func() { deleteStream(t, tt.natsURL, "RT_"+strings.ToUpper(suffix)) })
			}

			bus, err := Open(t.Context(), db, tt.databaseURL, tt.natsURL, opts...)

			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, bus.Close()) })
			require.IsType(t, tt.want, bus)
		})
	}
}

func TestOpenPostgresNeedsThePool(t *testing.T) {
	t.Parallel()

	_, err := Open(t.Context(), nil, "postgres://postgres@127.0.0.1:5432/test", "")

	require.ErrorContains(t, err, "database pool")
}
