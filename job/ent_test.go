package job_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// welcomeArgs is a job that reads what the transaction that enqueued it
// wrote.
type welcomeArgs struct {
	TenantID string `json:"tenant_id"`
}

func (welcomeArgs) Kind() string { return "welcome" }

// A job enqueued in an ent transaction commits and rolls back with ent's
// writes, and its worker sees them.
func TestInsertTxInEntTransaction(t *testing.T) {
	t.Parallel()

	type testBundle struct {
		db     *store.DB
		client *job.Client
		seen   chan string // names of the tenants the worker read
	}

	setup := func(t *testing.T, db *store.DB) *testBundle {
		t.Helper()
		bundle := &testBundle{db: db, seen: make(chan string, 1)}
		workers := river.NewWorkers()
		river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[welcomeArgs]) error {
			tenant, err := db.Client.Tenant.Get(viewer.System(ctx, j.Args.TenantID), j.Args.TenantID)
			if err != nil {
				return err
			}
			bundle.seen <- tenant.Name
			return nil
		}))
		bundle.client = start(t, db.SQL, db.Dialect, workers, testConfig(t))
		return bundle
	}

	// createTenantAndWelcome writes a tenant with ent and enqueues its
	// welcome in the same transaction.
	createTenantAndWelcome := func(t *testing.T, ctx context.Context, bundle *testBundle, tx *ent.Tx) (int64, error) {
		tenant, err := tx.Tenant.Create().SetName("Acme").SetSlug("acme").
			Save(viewer.Platform(ctx))
		if err != nil {
			return 0, err
		}
		res, err := bundle.client.InsertTx(ctx, sqlTxOf(t, tx), welcomeArgs{TenantID: tenant.ID}, nil)
		if err != nil {
			return 0, err
		}
		return res.Job.ID, nil
	}

	t.Run("Commit", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, db *store.DB) {
			bundle := setup(t, db)
			var id int64
			err := store.WithTx(t.Context(), db.Client, func(ctx context.Context, tx *ent.Tx) (err error) {
				id, err = createTenantAndWelcome(t, ctx, bundle, tx)
				return err
			})
			require.NoError(t, err)
			waitFor(t, bundle.client, id, rivertype.JobStateCompleted)
			require.Equal(t, "Acme", <-bundle.seen)
		})
	})

	t.Run("Rollback", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, db *store.DB) {
			bundle := setup(t, db)
			errAbort := errors.New("abort")
			err := store.WithTx(t.Context(), db.Client, func(ctx context.Context, tx *ent.Tx) error {
				if _, err := createTenantAndWelcome(t, ctx, bundle, tx); err != nil {
					return err
				}
				return errAbort
			})
			require.ErrorIs(t, err, errAbort)

			tenants, err := db.Client.Tenant.Query().Count(viewer.Platform(t.Context()))
			require.NoError(t, err)
			require.Zero(t, tenants)
			var jobs int
			require.NoError(t, db.SQL.QueryRowContext(t.Context(), `SELECT count(*) FROM river_job`).Scan(&jobs))
			require.Zero(t, jobs)
		})
	})
}

// sqlTxOf returns the *sql.Tx an ent transaction runs on.
func sqlTxOf(t testing.TB, tx *ent.Tx) *sql.Tx {
	t.Helper()
	stx, err := tx.SQLTx()
	require.NoError(t, err)
	return stx
}
