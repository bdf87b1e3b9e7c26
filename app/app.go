package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/automation"
	"github.com/switchboard-dev/switchboard/broadcast"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/contact"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/dashboard"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/export"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/group"
	"github.com/switchboard-dev/switchboard/inbox"
	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/number"
	"github.com/switchboard-dev/switchboard/outhook"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/presence"
	"github.com/switchboard-dev/switchboard/pricing"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
	"github.com/switchboard-dev/switchboard/report"
	"github.com/switchboard-dev/switchboard/retention"
	"github.com/switchboard-dev/switchboard/role"
	"github.com/switchboard-dev/switchboard/routing"
	"github.com/switchboard-dev/switchboard/segment"
	"github.com/switchboard-dev/switchboard/store"
)

// App is Switchboard built once: the store, the event bus, the authorizer,
// the domain services, the job workers and the HTTP routes. Its fields are
// for tests and benchmarks to reach into; the server only calls Run.
type App struct {
	Config   Config
	Log      *slog.Logger
	Clock    clock.Clock
	DB       *store.DB
	Bus      realtime.Bus
	Pub      *realtime.Publisher
	Box      *credential.Box
	Auth     *auth.Service
	Authz    *policy.Authorizer
	Presence *presence.Tracker
	Jobs     *job.Client
	Services graph.Services
	Resolver *graph.Resolver
	Gateway  *gateway.Gateway
	WhatsApp *Connector
	// DemoLogin is the demo tenant's sign-in when Config.Demo seeded or
	// found it, else nil.
	DemoLogin *demo.Login

	opts     options
	api      http.Handler // the GraphQL endpoint alone
	handler  http.Handler // every route, logged
	sim      *simulator   // nil unless Config.Simulator
	draining atomic.Bool
	started  atomic.Bool
	stop     context.CancelFunc // ends what Start started
	closers  []func() error     // in reverse order of opening
	close    sync.Once
	stopped  sync.Once // the job workers
	// stopSweep ends the sweep of stored deliveries, which closes sweeping
	// once the deliveries it holds are ingested.
	stopSweep context.CancelFunc
	sweeping  chan struct{}
	// stoppingJobs is set while River stops: its services' errors about
	// their cancelled context are then logged at INFO (riverLog).
	stoppingJobs atomic.Bool
}

// Option swaps a part of the App, for tests: what they pass replaces what
// New would build. Options never copy the wiring.
type Option func(*options)

type options struct {
	db       *store.DB
	bus      realtime.Bus
	clock    clock.Clock
	jobClock clock.Clock
	log      *slog.Logger
	workers  bool
	presence bool
}

// WithDB runs the App on db, already open and migrated (store/storetest);
// Close leaves it open.
func WithDB(db *store.DB) Option { return func(o *options) { o.db = db } }

// WithBus runs the App on bus instead of the one the configuration names
// (two "instances" on one bus); Close leaves it open.
func WithBus(bus realtime.Bus) Option { return func(o *options) { o.bus = bus } }

// WithClock gives every service c as its "now" (a clock.Fake in tests).
func WithClock(c clock.Clock) Option { return func(o *options) { o.clock = c } }

// WithLogger sets where the App logs (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithWorkers says whether Start runs the job workers (default true). Without
// them jobs are still enqueued, never worked: sent messages stay QUEUED and
// the provider is never called.
func WithWorkers(on bool) Option { return func(o *options) { o.workers = on } }

// WithJobClock has the job workers schedule by c (job.Config.Clock): a
// durable timer fires when c reaches it. Only for tests that move a
// clock.Fake and wait for timers: jobs that snooze (sends, retries) wait
// for c as well.
func WithJobClock(c clock.Clock) Option { return func(o *options) { o.jobClock = c } }

// WithQuietPresence leaves the presence lease loop out of Start, for tests
// that count the statements a request costs.
func WithQuietPresence() Option { return func(o *options) { o.presence = false } }

// New builds the App for cfg. Unless WithDB is given it opens the database
// and migrates it; with Config.Demo it seeds the demo tenant. Nothing runs in
// the background until Start (or Run).
func New(ctx context.Context, cfg Config, opts ...Option) (_ *App, err error) {
	o := options{clock: clock.Real(), log: slog.Default(), workers: true, presence: true}
	for _, opt := range opts {
		opt(&o)
	}
	a := &App{Config: cfg, Log: o.log, Clock: o.clock, opts: o}
	defer func() {
		if err != nil {
			_ = a.Close() // what was opened before the failure
		}
	}()
	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	if err := a.openBus(ctx); err != nil {
		return nil, err
	}
	if err := a.buildServices(); err != nil {
		return nil, err
	}
	a.Resolver = graph.NewResolver(a.Services)
	a.Gateway = graph.NewGateway(a.Resolver, cfg.Gateway)
	a.api = graph.NewAPI(a.Resolver, cfg.API, a.Gateway)
	if err := a.startupWrites(ctx); err != nil {
		return nil, err
	}
	a.handler = a.routes()
	return a, nil
}

func (a *App) openStore(ctx context.Context) error {
	if a.opts.db != nil {
		a.DB = a.opts.db
		return nil
	}
	db, err := OpenStore(ctx, a.Config)
	if err != nil {
		return err
	}
	a.DB = db
	a.closers = append(a.closers, db.Close)
	return nil
}

// OpenStore opens the configured database and migrates it: what New does
// unless WithDB is given, and what one-off commands (create-tenant) need.
func OpenStore(ctx context.Context, cfg Config) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return db, nil
}

func (a *App) openBus(ctx context.Context) error {
	if a.opts.bus != nil {
		a.Bus = a.opts.bus
	} else {
		postgresURL := ""
		if a.Config.IsPostgres() {
			postgresURL = a.Config.DatabaseURL
		}
		bus, err := realtime.Open(ctx, a.DB.SQL, postgresURL, a.Config.NATSURL, realtime.WithLogger(a.Log))
		if err != nil {
			return fmt.Errorf("event bus: %w", err)
		}
		a.Bus = bus
		a.closers = append(a.closers, bus.Close)
	}
	a.Pub = realtime.NewPublisher(a.Bus, a.Log)
	return nil
}

// buildServices builds the domain services and the workers that run them. A
// new service is built here and handed to whoever uses it (graph.Services for
// the resolvers, its workers); see the package doc.
func (a *App) buildServices() error {
	tokens, err := auth.NewTokens(a.Config.Secret, a.Config.AccessTokenTTL, a.Clock)
	if err != nil {
		return err
	}
	if a.Box, err = credential.NewBox(a.Config.Secret); err != nil {
		return err
	}
	// The job client comes first, so that services can enqueue; workers
	// register on it afterwards, until Start.
	workers := river.NewWorkers()
	if a.Jobs, err = a.newJobs(workers); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	client := a.DB.Client
	a.Authz = policy.NewAuthorizer(client)
	a.Auth = auth.NewService(client, tokens, a.Authz, a.Pub, a.Config.RefreshTokenTTL, a.Clock)
	a.Presence = presence.NewTracker(client, a.Bus, a.Config.PresenceGrace, a.Clock, a.Log)
	// Outbound webhooks are written with the changes they report: the
	// publisher hands every transaction's events to them before it commits.
	webhooks := outhook.New(client, a.Box, a.Authz, a.Pub, a.Clock, a.Log, a.Config.Webhooks)
	a.Pub.SetOutbox(webhooks)
	router := routing.New(client, a.Pub, a.Clock)
	conversations := inbox.NewService(client, a.Pub, a.Jobs, a.Clock)
	segments := segment.New(client, a.Clock)
	a.Services = graph.Services{
		Client:     client,
		Auth:       a.Auth,
		Authz:      a.Authz,
		Bus:        a.Bus,
		Presence:   a.Presence,
		Looking:    presence.NewLooking(a.Bus, 0, 0, a.Log),
		Roles:      role.NewService(client, a.Authz, a.Pub),
		Agents:     agent.NewService(client, a.Authz, a.Pub, router, a.Clock),
		Contacts:   contact.NewService(client, a.Pub),
		Numbers:    number.NewService(client, a.Pub, a.Box, a.Clock),
		Inbox:      conversations,
		Groups:     group.NewService(client, a.Pub, a.Jobs, a.Clock),
		Routing:    router,
		Automation: automation.New(client, a.Pub, a.Jobs, router, conversations, a.Clock, a.Log),
		Webhooks:   webhooks,
		Pricing:    pricing.NewService(client),
		Reports:    report.NewService(client, a.Clock),
		Segments:   segments,
		Broadcasts: broadcast.New(client, a.Pub, a.Jobs, segments, a.Clock, a.Log),
		Exports:    a.newExports(),
	}
	a.WhatsApp = newConnector(a, workers)
	river.AddWorker(workers, &routing.TickWorker{Routing: a.Services.Routing})
	river.AddWorker(workers, &automation.TimerWorker{Automation: a.Services.Automation})
	river.AddWorker(workers, &group.ScheduleWorker{Groups: a.Services.Groups})
	a.Jobs.AddPeriodicJobs(routing.PeriodicTick())
	river.AddWorker(workers, &retention.Worker{Retention: retention.New(client, a.Clock)})
	a.Jobs.AddPeriodicJobs(retention.Periodic())
	river.AddWorker(workers, &auth.PurgeThrottlesWorker{Auth: a.Auth})
	a.Jobs.AddPeriodicJobs(auth.PeriodicPurgeThrottles())
	river.AddWorker(workers, &export.Worker{Jobs: a.Services.Exports})
	river.AddWorker(workers, &export.SweepWorker{Jobs: a.Services.Exports})
	a.Jobs.AddPeriodicJobs(export.PeriodicSweep())
	return nil
}

// newExports builds the conversation export jobs over their directory.
func (a *App) newExports() *export.Jobs {
	dir := a.Config.ExportDir
	if dir == "" {
		dir = filepath.Join(cmp.Or(a.Config.DataDir, os.TempDir()), "switchboard-exports")
	}
	return export.NewJobs(export.New(a.DB.Client), a.Jobs, a.Authz, a.Clock, a.Log,
		export.JobConfig{Dir: dir, Secret: exportLinkSecret(a.Config.Secret), LinkTTL: a.Config.ExportLinkTTL})
}

// startupWrites are the writes an instance makes before it serves: the demo
// tenant (with its built-in roles) and the simulator's numbers. They run
// under the migrations' lock, so that instances starting together on an
// empty database take turns: one seeds, the others find the seed.
func (a *App) startupWrites(ctx context.Context) error {
	return a.DB.Exclusive(ctx, a.writeAtStartup)
}

func (a *App) writeAtStartup(ctx context.Context) error {
	if a.Config.Demo {
		login, err := demo.Seed(ctx, a.DB.Client)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		a.DemoLogin = login
	}
	// Conversations from before the report facts (an upgraded database) get
	// theirs once; afterwards the hooks keep them.
	if n, err := report.Backfill(ctx, a.DB.Client); err != nil {
		return fmt.Errorf("report backfill: %w", err)
	} else if n > 0 {
		a.Log.InfoContext(ctx, "report facts computed for existing conversations", "conversations", n)
	}
	if a.Config.Simulator {
		// One simulator per deployment: two would each have customers write
		// in (duplicate demo messages) and know different conversations.
		release, ok, err := a.DB.Hold(ctx, "simulator")
		if err != nil {
			return fmt.Errorf("simulator: %w", err)
		}
		if !ok {
			return errors.New("simulator: another instance on this database runs it; run it on one instance only " +
				"and start the others with SWITCHBOARD_SIM_URL=http://<that instance>/sim (README, \"More than one instance\")")
		}
		a.closers = append(a.closers, release)
		s, err := newSimulator(ctx, a)
		if err != nil {
			return fmt.Errorf("simulator: %w", err)
		}
		a.sim = s
		a.closers = append(a.closers, func() error { s.sim.Close(); return nil })
	}
	return nil
}

// routingSweep is how often every instance drains the routing queues that
// still wait, in case an event that freed capacity was lost.
const routingSweep = 30 * time.Second

// deltaFold is how often every instance folds the report and dashboard
// deltas into their rows.
const deltaFold = time.Second

// foldDeltas folds the report and dashboard deltas (report.Fold,
// dashboard.Fold) every deltaFold until ctx ends, as many batches as wait.
// A failed fold is logged and tried again at the next tick: the deltas stay
// until a fold commits, and the readers read them meanwhile.
func (a *App) foldDeltas(ctx context.Context) {
	folds := []struct {
		what  string
		fold  func(context.Context, *ent.Client, string, int) (int, error)
		batch int
	}{{"report", report.Fold, report.FoldBatch}, {"dashboard", dashboard.Fold, dashboard.FoldBatch}}
	t := time.NewTicker(deltaFold)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, f := range folds {
			for ctx.Err() == nil {
				n, err := f.fold(ctx, a.DB.Client, a.DB.Dialect, f.batch)
				if err != nil {
					if ctx.Err() == nil {
						a.Log.WarnContext(ctx, "deltas not folded", "of", f.what, "err", err)
					}
					break
				}
				if n < f.batch {
					break
				}
			}
		}
	}
}

// Handler serves every route: /graphql, the WhatsApp webhook, /metrics,
// /healthz, /readyz, the simulator under /sim/ when it runs in process, and
// the web assets.
func (a *App) Handler() http.Handler { return a.handler }

// API is the GraphQL endpoint alone, as /graphql serves it without the
// access log and metrics.
func (a *App) API() http.Handler { return a.api }

// Start runs the background work until ctx ends or Close: the job workers
// (unless WithWorkers(false)), the presence leases (unless
// WithQuietPresence), the policy, routing and automation followers and the
// in-process simulator.
func (a *App) Start(ctx context.Context) error {
	if !a.started.CompareAndSwap(false, true) {
		return errors.New("app: started twice")
	}
	ctx, a.stop = context.WithCancel(ctx)
	if err := graph.FollowPolicy(ctx, a.Bus, a.Authz, a.Gateway, a.Log); err != nil {
		return err
	}
	if a.opts.presence {
		go a.Presence.Run(ctx)
	}
	go a.Services.Looking.Run(ctx) // looks expire in memory: no database, no lease
	if err := a.Services.Routing.Follow(ctx, a.Bus, routingSweep, a.Log); err != nil {
		return fmt.Errorf("routing: %w", err)
	}
	if err := a.Services.Automation.Follow(ctx, a.Bus, a.Log); err != nil {
		return fmt.Errorf("automation: %w", err)
	}
	if a.opts.workers {
		if err := a.Services.Webhooks.Run(ctx, a.Bus); err != nil {
			return fmt.Errorf("outbound webhooks: %w", err)
		}
		if err := a.Jobs.Start(ctx); err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
		go a.foldDeltas(ctx)
		sctx, stopSweep := context.WithCancel(ctx)
		a.sweeping, a.stopSweep = make(chan struct{}), stopSweep
		go func() {
			defer close(a.sweeping)
			a.WhatsApp.Sweeper.Run(sctx)
		}()
	}
	if a.sim != nil {
		if err := a.sim.start(ctx); err != nil {
			return fmt.Errorf("simulator: %w", err)
		}
	}
	return nil
}

// Run starts the App, serves Handler on Config.Addr until ctx ends, then
// drains: /readyz answers 503, websockets are closed with 1001, in-flight
// requests finish and jobs are released, within Config.ShutdownTimeout.
func (a *App) Run(ctx context.Context) error {
	if err := a.Start(ctx); err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              a.Config.Addr,
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	a.Log.Info("serving", "addr", a.Config.Addr, "database", a.DB.Dialect, "graphiql", a.Config.BaseURL()+"/")

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("draining", "timeout", a.Config.ShutdownTimeout)
	a.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	// Websockets are hijacked: the HTTP server does not wait for them.
	if err := a.Gateway.Shutdown(sctx); err != nil {
		a.Log.Warn("websockets still open at the deadline", "err", err)
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.stopJobs()
	a.Log.Info("stopped")
	return nil
}

// stopJobs lets running jobs finish within the shutdown timeout; those still
// running are retried by another instance or the next start.
func (a *App) stopJobs() {
	if !a.opts.workers || !a.started.Load() {
		return
	}
	a.stopped.Do(func() {
		sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
		defer cancel()
		a.stoppingJobs.Store(true)
		a.stopSweep()
		if err := a.Jobs.Stop(sctx); err != nil {
			a.Log.Warn("jobs still running at the deadline: they will be retried", "err", err)
		}
		select {
		case <-a.sweeping:
		case <-sctx.Done(): // what it holds is swept again when its claim passes
		}
	})
}

// Close stops the background work and closes what New opened (not what an
// Option handed in). It is safe to call more than once.
func (a *App) Close() error {
	var errs []error
	a.close.Do(func() {
		if a.Gateway != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = a.Gateway.Shutdown(ctx)
			cancel()
		}
		a.stopJobs()
		if a.stop != nil {
			a.stop()
		}
		for i := len(a.closers) - 1; i >= 0; i-- {
			if err := a.closers[i](); err != nil {
				errs = append(errs, err)
			}
		}
	})
	return errors.Join(errs...)
}
