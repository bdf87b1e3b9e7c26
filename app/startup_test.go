package app_test

import (
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestInstancesStartTogether starts instances at the same moment on an
// empty Postgres schema, each with its own pool as separate processes would
// have: every one migrates and seeds the demo, and all come up with one demo
// tenant of seven people (before the start-up writes took the migrations'
// lock, one of two died on tenants_slug_key).
func TestInstancesStartTogether(t *testing.T) {
	t.Parallel()
	url := storetest.EmptySchema(t)
	cfg := graphtest.Config()
	cfg.DatabaseURL, cfg.Demo = url, true
	quiet := app.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

	const n = 3
	var (
		start  = make(chan struct{})
		wg     sync.WaitGroup
		logins [n]*demo.Login
		errs   [n]error
	)
	for i := range n {
		wg.Go(func() {
			<-start
			a, err := app.New(t.Context(), cfg, quiet, app.WithWorkers(false))
			if err != nil {
				errs[i] = err
				return
			}
			logins[i] = a.DemoLogin
			errs[i] = a.Close()
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "instance %d", i)
		require.NotNil(t, logins[i], "instance %d found no demo tenant", i)
	}

	db, err := store.Open(t.Context(), url)
	require.NoError(t, err)
	defer db.Close()
	ctx := viewer.Platform(t.Context())
	tenants, err := db.Client.Tenant.Query().All(ctx)
	require.NoError(t, err)
	require.Len(t, tenants, 1)
	require.Equal(t, demo.Slug, tenants[0].Slug)
	people, err := db.Client.Agent.Query().Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 7, people, "the demo has seven people")
}
