package storetest_test

import (
	"context"
	"sync"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

func TestCounter(t *testing.T) {
	t.Parallel()

	type testBundle struct {
		counter *storetest.Counter
		db      *store.DB
		// ctx lets queries past the privacy policies: the counter, not the
		// policies, is under test.
		ctx context.Context
	}
	// each runs fn on SQLite and, when configured, PostgreSQL.
	each := func(t *testing.T, fn func(t *testing.T, bundle *testBundle)) {
		t.Helper()
		for name, d := range map[string]string{"sqlite": dialect.SQLite, "postgres": dialect.Postgres} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				counter := &storetest.Counter{}
				db := storetest.Open(t, d, store.WithDriver(counter.Wrap))
				ctx := viewer.Platform(t.Context())
				fn(t, &testBundle{counter: counter, db: db, ctx: ctx})
			})
		}
	}

	t.Run("CountsClientStatements", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, bundle *testBundle) {
			_, err := bundle.db.Client.Tenant.Query().Count(bundle.ctx)
			require.NoError(t, err)
			require.Equal(t, 1, bundle.counter.Count())
			require.Contains(t, bundle.counter.Statements()[0], "tenants")
		})
	})

	t.Run("CountsInsideTransactions", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, bundle *testBundle) {
			tx, err := bundle.db.Client.Tx(bundle.ctx)
			require.NoError(t, err)
			_, err = tx.Tenant.Query().Count(bundle.ctx)
			require.NoError(t, err)
			require.NoError(t, tx.Commit())

			tx, err = bundle.db.Client.BeginTx(bundle.ctx, nil)
			require.NoError(t, err)
			_, err = tx.Tenant.Query().Count(bundle.ctx)
			require.NoError(t, err)
			require.NoError(t, tx.Rollback())

			require.Equal(t, 2, bundle.counter.Count(), bundle.counter.Statements())
		})
	})

	t.Run("Reset", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, bundle *testBundle) {
			_, err := bundle.db.Client.Tenant.Query().Count(bundle.ctx)
			require.NoError(t, err)
			bundle.counter.Reset()
			require.Zero(t, bundle.counter.Count())
			require.Empty(t, bundle.counter.Statements())
		})
	})

	t.Run("ConcurrentQueries", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, bundle *testBundle) {
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					_, err := bundle.db.Client.Tenant.Query().Count(bundle.ctx)
					require.NoError(t, err)
				})
			}
			wg.Wait()
			require.Equal(t, 8, bundle.counter.Count())
		})
	})
}
