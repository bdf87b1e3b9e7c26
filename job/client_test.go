package job_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/store"
)

func TestClient(t *testing.T) {
	t.Parallel()

	t.Run("CommittedJobRunsOnce", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, db *store.DB) {
			var ran runs
			c := start(t, db.SQL, db.Dialect, counting(&ran), testConfig(t))

			id := insert(t, db.SQL, c, testArgs{Name: "send"})

			row := waitFor(t, c, id, rivertype.JobStateCompleted)
			require.Equal(t, 1, row.Attempt)
			time.Sleep(10 * testConfig(t).PollInterval) // a second run would happen by now
			require.Equal(t, 1, ran.of("send"))
		})
	})

	t.Run("RolledBackJobNeverRuns", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, db *store.DB) {
			var ran runs
			c := start(t, db.SQL, db.Dialect, counting(&ran), testConfig(t))

			tx, err := db.SQL.BeginTx(t.Context(), nil)
			require.NoError(t, err)
			res, err := c.InsertTx(t.Context(), tx, testArgs{Name: "rolled back"}, nil)
			require.NoError(t, err)
			require.NoError(t, tx.Rollback())

			// Jobs run in insertion order: once a later job ran, the rolled
			// back one would have.
			later := insert(t, db.SQL, c, testArgs{Name: "later"})
			waitFor(t, c, later, rivertype.JobStateCompleted)
			require.Equal(t, 0, ran.of("rolled back"))
			// Not by ID: SQLite hands the rolled back job's ID to the next.
			require.NotZero(t, res.Job.ID)
			var count int
			require.NoError(t, db.SQL.QueryRowContext(t.Context(), `SELECT count(*) FROM river_job`).Scan(&count))
			require.Equal(t, 1, count)
		})
	})

	t.Run("FailingJobRetriesWithBackoff", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, db *store.DB) {
			const backoff = 200 * time.Millisecond
			var (
				mu     sync.Mutex
				starts []time.Time
			)
			cfg := testConfig(t)
			cfg.RetryPolicy = fixedRetry(backoff)
			c := start(t, db.SQL, db.Dialect, workerFunc(func(ctx context.Context, j *river.Job[testArgs]) error {
				mu.Lock()
				defer mu.Unlock()
				starts = append(starts, time.Now())
				if len(starts) < 3 {
					return errTransient
				}
				return nil
			}), cfg)

			id := insert(t, db.SQL, c, testArgs{Name: "flaky"})

			row := waitFor(t, c, id, rivertype.JobStateCompleted)
			require.Equal(t, 3, row.Attempt)
			require.Len(t, row.Errors, 2)
			require.Equal(t, errTransient.Error(), row.Errors[0].Error)
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, starts, 3)
			for i := 1; i < len(starts); i++ {
				require.GreaterOrEqual(t, starts[i].Sub(starts[i-1]), backoff, "attempt %d came before its backoff", i+1)
			}
		})
	})

	t.Run("FailingJobIsDiscardedAfterMaxAttempts", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, db *store.DB) {
			cfg := testConfig(t)
			cfg.MaxAttempts = 2
			c := start(t, db.SQL, db.Dialect, workerFunc(func(ctx context.Context, j *river.Job[testArgs]) error {
				return errTransient
			}), cfg)

			id := insert(t, db.SQL, c, testArgs{Name: "hopeless"})

			row := waitFor(t, c, id, rivertype.JobStateDiscarded)
			require.Equal(t, 2, row.Attempt)
		})
	})

	// Stop waits for running jobs until its context is done, then cancels
	// them: River records the cancelled run for a retry, which the next
	// instance picks up.
	t.Run("StopReleasesRunningJob", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, db *store.DB) {
			started := make(chan struct{})
			first, err := job.New(db.SQL, db.Dialect, workerFunc(func(ctx context.Context, j *river.Job[testArgs]) error {
				close(started)
				<-ctx.Done()
				return ctx.Err()
			}), testConfig(t))
			require.NoError(t, err)
			require.NoError(t, first.Start(t.Context()))
			id := insert(t, db.SQL, first, testArgs{Name: "long"})
			<-started

			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			require.NoError(t, first.Stop(ctx))

			var ran runs
			second := start(t, db.SQL, db.Dialect, counting(&ran), testConfig(t))
			row := waitFor(t, second, id, rivertype.JobStateCompleted)
			require.Equal(t, 2, row.Attempt)
			require.Equal(t, 1, ran.of("long"))
		})
	})

	// An instance that dies mid-job leaves it running; once
	// RescueStuckJobsAfter has passed, another instance retries it.
	t.Run("CrashedJobIsRescued", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, db *store.DB) {
			started, release := make(chan struct{}), make(chan struct{})
			defer close(release)
			// The first instance has a pool of its own, like a process.
			crashing := openPool(t, db)
			cfg := testConfig(t)
			cfg.Logger = discardLogs // it outlives the test
			first, err := job.New(crashing, db.Dialect, workerFunc(func(ctx context.Context, j *river.Job[testArgs]) error {
				close(started)
				<-release // a hung worker: deaf to its context
				return nil
			}), cfg)
			require.NoError(t, err)
			require.NoError(t, first.Start(t.Context()))
			id := insert(t, db.SQL, first, testArgs{Name: "hung"})
			<-started

			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			require.ErrorContains(t, first.Stop(ctx), "left for rescue")
			require.NoError(t, crashing.Close()) // the process dies

			var ran runs
			cfg = testConfig(t)
			cfg.JobTimeout = 500 * time.Millisecond
			cfg.RescueStuckJobsAfter = time.Second
			second := start(t, db.SQL, db.Dialect, counting(&ran), cfg)
			// The dead instance's leadership, which the rescuer needs, expires
			// first: about 15 s.
			row := waitFor(t, second, id, rivertype.JobStateCompleted)
			require.Equal(t, 2, row.Attempt)
			require.Equal(t, 1, ran.of("hung"))
		})
	})

	t.Run("InstancesShareWorkAndRunEachJobOnce", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, db *store.DB) {
			const jobs = 40
			var (
				ran       runs
				byClient  [2]runs
				instances [2]*job.Client
			)
			cfg := testConfig(t)
			cfg.Queues = map[string]int{river.QueueDefault: 2}
			for i := range instances {
				instances[i] = start(t, openPool(t, db), db.Dialect, workerFunc(func(ctx context.Context, j *river.Job[testArgs]) error {
					ran.add(j.Args.Name)
					byClient[i].add("all")
					time.Sleep(10 * time.Millisecond)
					return nil
				}), cfg)
			}

			tx, err := db.SQL.BeginTx(t.Context(), nil)
			require.NoError(t, err)
			ids := make([]int64, jobs)
			for i := range ids {
				res, err := instances[0].InsertTx(t.Context(), tx, testArgs{Name: fmt.Sprint(i)}, nil)
				require.NoError(t, err)
				ids[i] = res.Job.ID
			}
			require.NoError(t, tx.Commit())

			for _, id := range ids {
				row := waitFor(t, instances[1], id, rivertype.JobStateCompleted)
				require.Equal(t, 1, row.Attempt)
			}
			for i := range jobs {
				require.Equal(t, 1, ran.of(fmt.Sprint(i)), "job %d", i)
			}
			require.Positive(t, byClient[0].of("all"))
			require.Positive(t, byClient[1].of("all"))
		})
	})

	t.Run("StartRefusesDatabaseWithoutRiversSchema", func(t *testing.T) {
		t.Parallel()
		eachEmpty(t, func(t *testing.T, db *store.DB) {
			c, err := job.New(db.SQL, db.Dialect, workerFunc(func(context.Context, *river.Job[testArgs]) error { return nil }), testConfig(t))
			require.NoError(t, err)
			err = c.Start(t.Context())
			require.ErrorContains(t, err, "River's schema is not current (Unapplied migrations: [1 2 3 4 5 6])")
		})
	})

	t.Run("NewRejectsUnknownDialect", func(t *testing.T) {
		t.Parallel()
		_, err := job.New(nil, "mysql", river.NewWorkers(), job.Config{})
		require.ErrorContains(t, err, `unsupported dialect "mysql"`)
	})

	// The server's context ends with SIGTERM; the jobs must still get their
	// graceful stop.
	t.Run("CancelledStartContextDoesNotStopJobs", func(t *testing.T) {
		t.Parallel()
		each(t, func(t *testing.T, db *store.DB) {
			started, finish := make(chan struct{}), make(chan struct{})
			ctx, cancel := context.WithCancel(t.Context())
			c, err := job.New(db.SQL, db.Dialect, workerFunc(func(ctx context.Context, j *river.Job[testArgs]) error {
				close(started)
				<-finish
				return ctx.Err()
			}), testConfig(t))
			require.NoError(t, err)
			require.NoError(t, c.Start(ctx))
			id := insert(t, db.SQL, c, testArgs{Name: "send"})
			<-started

			cancel()
			close(finish)
			stopCtx, stopCancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer stopCancel()
			require.NoError(t, c.Stop(stopCtx))
			row, err := c.River().JobGet(t.Context(), id)
			require.NoError(t, err)
			require.Equal(t, rivertype.JobStateCompleted, row.State)
		})
	})
}
