package main

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// whatsAppConnector is the WhatsApp side of the server: the webhook endpoint
// and the durable jobs that ingest, send, send receipts and read numbers' health.
type whatsAppConnector struct {
	jobs    *job.Client
	webhook *connector.Webhook
}

func newConnector(cfg config, db *store.DB, pub *realtime.Publisher, box *credential.Box, logger *slog.Logger) (*whatsAppConnector, error) {
	api := &whatsapp.Client{BaseURL: cfg.WhatsAppAPIURL, Version: cfg.WhatsAppAPIVersion}
	ingester := connector.NewIngester(db.Client, pub, logger)
	workers := river.NewWorkers()
	river.AddWorker(workers, &connector.ProcessWebhookWorker{Ingester: ingester})
	river.AddWorker(workers, &connector.Sender{Client: db.Client, API: api, Box: box, Pub: pub, Limits: connector.NewLimits(cfg.PairInterval), Log: logger})
	river.AddWorker(workers, &connector.Reader{Client: db.Client, API: api, Box: box})
	river.AddWorker(workers, &connector.Health{Client: db.Client, API: api, Box: box, Pub: pub, Log: logger})
	jobs, err := job.New(db.SQL, db.Dialect, workers, job.Config{
		// River polls (no listener on these drivers): a queue moves at most its
		// workers per poll interval, so ingest gets many.
		Queues:               map[string]int{river.QueueDefault: 2, connector.QueueIngest: 32, connector.QueueSend: max(cfg.SendWorkers, 1)},
		PollInterval:         cfg.JobPollInterval,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.JobRescueAfter,
		Logger:               slog.New(atLeast{slog.LevelWarn, logger.Handler()}), // River is chatty at INFO
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(cfg.HealthInterval),
				func() (river.JobArgs, *river.InsertOpts) { return connector.HealthArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		},
	})
	if err != nil {
		return nil, err
	}
	hook := &connector.Webhook{
		Client:      db.Client,
		AppSecret:   cfg.WhatsAppAppSecret,
		VerifyToken: cfg.WhatsAppVerifyToken,
		Log:         logger,
		Process:     ingester.Process,
		Eager:       64,
		Enqueue:     connector.EnqueueWebhook(jobs),
	}
	return &whatsAppConnector{jobs: jobs, webhook: hook}, nil
}

// atLeast passes on the records of a handler at or above a level.
type atLeast struct {
	min slog.Level
	slog.Handler
}

func (h atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}
