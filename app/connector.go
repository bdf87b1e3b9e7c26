package app

import (
	"cmp"
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/automation"
	"github.com/switchboard-dev/switchboard/broadcast"
	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// Connector is the WhatsApp side of the App: the webhook endpoint and the
// workers that ingest, send, send receipts and read numbers' health.
type Connector struct {
	Webhook *connector.Webhook
	Health  *connector.Health // the periodic health read; tests run it on demand
	// Sweeper ingests the stored deliveries no ingest holds; it runs with
	// the job workers, and tests run it on demand.
	Sweeper *connector.Sweeper
}

// newConnector builds the connector and registers its workers and periodic
// jobs on a.Jobs.
func newConnector(a *App, workers *river.Workers) *Connector {
	cfg := a.Config
	api := connector.Providers{Cloud: &whatsapp.Client{BaseURL: cfg.WhatsAppAPIURL, Version: cfg.WhatsAppAPIVersion}}
	if cfg.SimURL != "" {
		api.Sim = &whatsapp.Client{BaseURL: cfg.SimURL, Version: cfg.WhatsAppAPIVersion}
	}
	client := a.DB.Client
	ingester := connector.NewIngester(client, a.DB.Dialect, a.Pub, a.Clock, a.Log)
	// routes new conversations on arrival, then runs the rules
	ingester.Arrivals = automation.Arrivals{a.Services.Routing, a.Services.Automation}
	health := &connector.Health{Client: client, API: api, Box: a.Box, Pub: a.Pub, Log: a.Log, Proven: a.Services.Numbers.Proven}
	// one pace per number, shared by the inbox's sends and broadcasts
	limits := connector.NewLimits(cfg.PairInterval)
	river.AddWorker(workers, &connector.Sender{Client: client, API: api, Clock: a.Clock, Box: a.Box, Pub: a.Pub, Limits: limits, Log: a.Log})
	templates := &broadcast.Templates{Client: client, API: api, Box: a.Box, Clock: a.Clock}
	a.Services.Templates = templates
	ingester.Templates = broadcast.TemplateUpdated
	river.AddWorker(workers, &broadcast.PlanWorker{Broadcasts: a.Services.Broadcasts})
	river.AddWorker(workers, &broadcast.Dispatcher{Client: client, API: api, Box: a.Box, Limits: limits, Pub: a.Pub,
		Clock: a.Clock, Log: a.Log, Reconcile: cfg.BroadcastReconcile, Slice: min(30*time.Second, cfg.JobRescueAfter/2)})
	river.AddWorker(workers, &broadcast.SyncWorker{Templates: templates})
	a.Jobs.AddPeriodicJobs(river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return broadcast.SyncArgs{}, nil }, nil))
	river.AddWorker(workers, &connector.Reader{Client: client, API: api, Box: a.Box})
	river.AddWorker(workers, &connector.GroupOps{Client: client, API: api, Box: a.Box, Pub: a.Pub, Clock: a.Clock, Log: a.Log})
	river.AddWorker(workers, health)
	a.Jobs.AddPeriodicJobs(river.NewPeriodicJob(river.PeriodicInterval(cfg.HealthInterval),
		func() (river.JobArgs, *river.InsertOpts) { return connector.HealthArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true}))
	replayer := &connector.Replayer{}
	// A number is verified with its provider, and then gets the webhooks
	// that arrived for it before.
	a.Services.Numbers.Prove = api.Proves
	a.Services.Numbers.Linked = replayer.NumberLinked
	a.Services.Deliveries = &connector.Deliveries{Client: client, Replayer: replayer}
	a.Services.Typing = &connector.Typing{Client: client, API: api, Box: a.Box, Clock: a.Clock, Log: a.Log}
	hook := &connector.Webhook{
		Client:      client,
		AppSecret:   cfg.WhatsAppAppSecret,
		VerifyToken: cfg.WhatsAppVerifyToken,
		Log:         a.Log,
		Ingester:    ingester,
		Eager:       eagerIngests(a.DB.Dialect),
		Writers:     webhookWriters(a.DB.Dialect),
		MaxPending:  cmp.Or(cfg.WebhookMaxPending, DefaultWebhookMaxPending),
	}
	sweeper := &connector.Sweeper{Client: client, Dialect: a.DB.Dialect, Ingester: ingester, Every: cfg.JobPollInterval, Log: a.Log}
	return &Connector{Webhook: hook, Health: health, Sweeper: sweeper}
}

// newJobs returns the job client; every package registers its workers on
// workers before Start (package job builds River then).
func (a *App) newJobs(workers *river.Workers) (*job.Client, error) {
	cfg := a.Config
	return job.New(a.DB.SQL, a.DB.Dialect, workers, job.Config{
		// River polls (no listener on these drivers): a queue moves at most its
		// workers per poll interval.
		Queues: map[string]int{river.QueueDefault: 2, connector.QueueSend: max(cfg.SendWorkers, 1),
			broadcast.Queue: 16}, // a dispatch job per sending number runs for its slice
		PollInterval:         cfg.JobPollInterval,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.JobRescueAfter,
		Logger:               slog.New(riverLog{slog.LevelWarn, &a.stoppingJobs, a.Log.Handler()}), // River is chatty at INFO
		Clock:                a.opts.jobClock,
	})
}

// riverLog passes on River's records at or above min. While the App stops
// River (stopping), an error River's own services log because Stop cancelled
// their context ("PeriodicJobEnqueuer: Error starting transaction … context
// canceled") is part of a clean stop, not a failure: it is passed on at INFO.
type riverLog struct {
	min      slog.Level
	stopping *atomic.Bool
	slog.Handler
}

func (h riverLog) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h riverLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && h.stopping.Load() && cancelled(r) {
		quiet := slog.NewRecord(r.Time, slog.LevelInfo, r.Message+" (while stopping)", r.PC)
		r.Attrs(func(a slog.Attr) bool { quiet.AddAttrs(a); return true })
		return h.Handler.Handle(ctx, quiet)
	}
	return h.Handler.Handle(ctx, r)
}

func (h riverLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return riverLog{h.min, h.stopping, h.Handler.WithAttrs(attrs)}
}

func (h riverLog) WithGroup(name string) slog.Handler {
	return riverLog{h.min, h.stopping, h.Handler.WithGroup(name)}
}

// cancelled tells whether a record reports a cancelled context.
func cancelled(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = strings.Contains(a.Value.String(), context.Canceled.Error())
		return !found
	})
	return found
}

// webhookWriters is how many batches of webhooks are stored at once: one
// on SQLite (one writer: a second batch would only wait for the first),
// four on Postgres.
func webhookWriters(d string) int {
	if d == dialect.SQLite {
		return 1
	}
	return 4
}

// eagerIngests is how many batches of stored webhooks are ingested at once
// as they arrive; what arrives meanwhile waits for one of them and goes in
// its next batch (connector.Webhook.Eager). SQLite has one writer and a pool
// of 4 connections: more ingests than that only queue on its lock, each
// holding a connection, and a read outside their transactions (another
// request's, a cache's) then waits for a connection behind them until
// busy_timeout fails one. Two keep the writer busy and leave the pool room.
// On Postgres four keep two cores busy: with 64 (one per stored batch, as
// before the queue) each took two or three webhooks, a transaction and a
// dozen statements a message, and reached 400 messages/s where four with
// the queue take a dozen a batch.
func eagerIngests(d string) int {
	if d == dialect.SQLite {
		return 2
	}
	return 4
}
