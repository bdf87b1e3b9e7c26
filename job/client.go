package job

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/switchboard-dev/switchboard/clock"
)

// Config tunes a Client. The zero value is usable: every field has a default.
type Config struct {
	// Queues maps the name of each queue this instance works to how many of
	// its jobs it runs at once. Defaults to 10 workers on River's "default"
	// queue.
	Queues map[string]int

	// PollInterval is how often each queue looks for available jobs. Neither
	// driver listens for inserts (riversqlite has no LISTEN/NOTIFY;
	// riverdatabasesql has no listener), so a job inserted in a transaction
	// waits up to this long before a worker picks it up. Defaults to 1s.
	PollInterval time.Duration

	// JobTimeout cancels the context of a job running longer. Defaults to 1
	// minute.
	JobTimeout time.Duration

	// RescueStuckJobsAfter is how long a job may stay running before it is
	// presumed lost with its instance and retried. It must exceed JobTimeout:
	// a job still running is retried a second time. Defaults to JobTimeout
	// plus 5 minutes.
	RescueStuckJobsAfter time.Duration

	// MaxAttempts is how often a job runs before it is discarded, unless its
	// args or insert options say otherwise. Defaults to 25.
	MaxAttempts int

	// RetryPolicy says when a failed job runs again, unless its worker
	// overrides NextRetry. Defaults to River's: attempt⁴ seconds with jitter
	// (1s, 16s, 81s, … about three weeks over 25 attempts).
	RetryPolicy river.ClientRetryPolicy

	// Logger receives River's logs. Defaults to slog.Default().
	Logger *slog.Logger

	// PeriodicJobs are inserted on their schedules by the elected leader
	// among the instances.
	PeriodicJobs []*river.PeriodicJob

	// Clock, when set, is the time River schedules and fetches by: a job
	// scheduled at t runs once Clock reaches t. Tests that move a
	// clock.Fake set it so that durable timers fire when the clock says;
	// production leaves it nil (the database's time).
	Clock clock.Clock
}

// riverTime shows River a clock.Clock.
type riverTime struct{ clock.Clock }

func (t riverTime) NowUTC() time.Time { return t.Now().UTC() }

func (t riverTime) NowUTCOrNil() *time.Time {
	now := t.NowUTC()
	return &now
}

// Defaults of Config.
const (
	defaultQueueWorkers = 10
	defaultPollInterval = time.Second
	defaultJobTimeout   = time.Minute
	rescueMargin        = 5 * time.Minute
)

// cancelGrace is how long Stop waits for cancelled jobs to return once its
// context is done, so that River records them for retry.
const cancelGrace = 5 * time.Second

// Client works the jobs of this instance and enqueues new ones. Several
// clients, one per instance, share the jobs of one database.
type Client struct {
	driver  riverdriver.Driver[*sql.Tx]
	workers *river.Workers
	cfg     Config

	build sync.Once
	river *river.Client[*sql.Tx]
	err   error
}

// New returns a client over db, the pool the ent client uses, for dialect
// (dialect.SQLite or dialect.Postgres). River's tables must exist: they come
// with store/migrations (see package doc). workers must end up holding a
// worker for every kind of job the client inserts or works: workers and
// cfg.PeriodicJobs may still be added until the first Start or InsertTx,
// which build the River client. That lets services that enqueue hold the
// Client before the workers that call those services are registered.
func New(db *sql.DB, dialectName string, workers *river.Workers, cfg Config) (*Client, error) {
	driver, err := newDriver(dialectName, db)
	if err != nil {
		return nil, err
	}
	if workers == nil {
		return nil, errors.New("job: workers are required")
	}
	return &Client{driver: driver, workers: workers, cfg: cfg}, nil
}

// AddPeriodicJobs schedules jobs besides cfg.PeriodicJobs; like workers,
// only before the first Start or InsertTx.
func (c *Client) AddPeriodicJobs(jobs ...*river.PeriodicJob) {
	c.cfg.PeriodicJobs = append(c.cfg.PeriodicJobs, jobs...)
}

// riverClient builds the River client once, from the workers and periodic
// jobs registered by then.
func (c *Client) riverClient() (*river.Client[*sql.Tx], error) {
	c.build.Do(func() {
		c.river, c.err = river.NewClient(c.driver, c.cfg.riverConfig(c.workers))
		if c.err != nil {
			c.err = fmt.Errorf("job: %w", c.err)
		}
	})
	return c.river, c.err
}

func (cfg Config) riverConfig(workers *river.Workers) *river.Config {
	queues := make(map[string]river.QueueConfig, len(cfg.Queues))
	for name, n := range cfg.Queues {
		queues[name] = river.QueueConfig{MaxWorkers: n}
	}
	if len(queues) == 0 {
		queues[river.QueueDefault] = river.QueueConfig{MaxWorkers: defaultQueueWorkers}
	}
	poll := cmp.Or(cfg.PollInterval, defaultPollInterval)
	timeout := cmp.Or(cfg.JobTimeout, defaultJobTimeout)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	var test river.TestConfig
	if cfg.Clock != nil {
		test.Time = riverTime{cfg.Clock}
	}
	return &river.Config{
		Test: test,
		// Neither driver supports a listener: River would fall back to
		// polling on its own, saying so in the log. Asking keeps it explicit.
		PollOnly:          true,
		FetchPollInterval: poll,
		// River refuses a poll interval shorter than the cooldown.
		FetchCooldown:        min(river.FetchCooldownDefault, poll),
		JobTimeout:           timeout,
		RescueStuckJobsAfter: cmp.Or(cfg.RescueStuckJobsAfter, timeout+rescueMargin),
		MaxAttempts:          cfg.MaxAttempts,
		RetryPolicy:          cfg.RetryPolicy,
		Queues:               queues,
		Workers:              workers,
		Logger:               logger,
		PeriodicJobs:         cfg.PeriodicJobs,
	}
}

// Start checks that the database holds River's current schema and starts
// working jobs. ctx bounds the start only: the client runs until Stop, so
// that a cancelled server context cannot skip the graceful stop.
func (c *Client) Start(ctx context.Context) error {
	rc, err := c.riverClient()
	if err != nil {
		return err
	}
	migrator, err := rivermigrate.New(c.driver, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("job: river migrator: %w", err)
	}
	res, err := migrator.Validate(ctx)
	if err != nil {
		return fmt.Errorf("job: check River's schema: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("job: River's schema is not current (%s): add River's migrations to store/migrations, see package job",
			strings.Join(res.Messages, "; "))
	}
	if err := rc.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("job: start: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for the running ones to finish. When ctx
// is done first, it cancels their contexts and waits up to 5 more seconds for
// them to return, so that River records them for a retry on any instance. It
// fails if jobs still run after that: they stay marked running until
// RescueStuckJobsAfter has passed and the leader instance retries them.
func (c *Client) Stop(ctx context.Context) error {
	rc, err := c.riverClient()
	if err != nil {
		return nil // never built, so never started
	}
	err = rc.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	hardCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelGrace)
	defer cancel()
	if err := rc.StopAndCancel(hardCtx); err != nil {
		return fmt.Errorf("job: stop: jobs still running after cancellation, left for rescue: %w", err)
	}
	return nil
}

// InsertTx enqueues a job in tx, the transaction of the write it belongs to:
// the job exists if and only if tx commits. Workers see it at their next
// poll after the commit.
func (c *Client) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	rc, err := c.riverClient()
	if err != nil {
		return nil, err
	}
	res, err := rc.InsertTx(ctx, tx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("job: insert %s: %w", args.Kind(), err)
	}
	return res, nil
}

// River returns the underlying River client, for what this package does not
// wrap: subscriptions to job events, job queries, queue pauses. It builds the
// client (see New) and panics if its configuration is invalid, which Start
// would have reported.
func (c *Client) River() *river.Client[*sql.Tx] {
	rc, err := c.riverClient()
	if err != nil {
		panic(err)
	}
	return rc
}
