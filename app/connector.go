package app

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// Connector is the WhatsApp side of the App: the webhook endpoint and the
// workers that ingest, send, send receipts and read numbers' health.
type Connector struct {
	Webhook *connector.Webhook
	Health  *connector.Health // the periodic health read; tests run it on demand
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
	ingester := connector.NewIngester(client, a.Pub, a.Clock, a.Log)
	ingester.Arrivals = a.Services.Routing // routes new conversations on arrival
	health := &connector.Health{Client: client, API: api, Box: a.Box, Pub: a.Pub, Log: a.Log}
	river.AddWorker(workers, &connector.ProcessWebhookWorker{Ingester: ingester})
	river.AddWorker(workers, &connector.Sender{Client: client, API: api, Clock: a.Clock, Box: a.Box, Pub: a.Pub, Limits: connector.NewLimits(cfg.PairInterval), Log: a.Log})
	river.AddWorker(workers, &connector.Reader{Client: client, API: api, Box: a.Box})
	river.AddWorker(workers, health)
	a.Jobs.AddPeriodicJobs(river.NewPeriodicJob(river.PeriodicInterval(cfg.HealthInterval),
		func() (river.JobArgs, *river.InsertOpts) { return connector.HealthArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true}))
	hook := &connector.Webhook{
		Client:      client,
		AppSecret:   cfg.WhatsAppAppSecret,
		VerifyToken: cfg.WhatsAppVerifyToken,
		Log:         a.Log,
		Process:     ingester.Process,
		Eager:       64,
		Enqueue:     connector.EnqueueWebhook(a.Jobs),
	}
	return &Connector{Webhook: hook, Health: health}
}

// newJobs returns the job client; every package registers its workers on
// workers before Start (package job builds River then).
func (a *App) newJobs(workers *river.Workers) (*job.Client, error) {
	cfg := a.Config
	return job.New(a.DB.SQL, a.DB.Dialect, workers, job.Config{
		// River polls (no listener on these drivers): a queue moves at most its
		// workers per poll interval, so ingest gets many.
		Queues:               map[string]int{river.QueueDefault: 2, connector.QueueIngest: 32, connector.QueueSend: max(cfg.SendWorkers, 1)},
		PollInterval:         cfg.JobPollInterval,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.JobRescueAfter,
		Logger:               slog.New(atLeast{slog.LevelWarn, a.Log.Handler()}), // River is chatty at INFO
	})
}

// atLeast passes on the records of a handler at or above a level.
type atLeast struct {
	min slog.Level
	slog.Handler
}

func (h atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}
