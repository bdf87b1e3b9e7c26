package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/tenant"
	"github.com/switchboard-dev/switchboard/viewer"
)

// bench is the App as server.go builds it, over SQLite and the memory bus,
// with one tenant, one conversation and the owner signed in.
type bench struct {
	app            *app.App
	bus            *countingBus
	tenantID       string
	conversationID string
	conversation   string // its status, as the subscription shows it
	token          string
}

const (
	slug     = "bench"
	email    = "owner@bench.test"
	password = "correct horse battery"
)

// seed builds the App in dir with gw as its gateway's configuration, except
// for the per-agent connection cap: every benchmark client signs in as the
// same owner. No job workers run: this benchmark is about the websockets.
func seed(ctx context.Context, dir string, gw graph.GatewayConfig) (*bench, error) {
	env := map[string]string{
		"DATABASE_URL":                 "sqlite:" + filepath.Join(dir, "bench.db"),
		"SWITCHBOARD_DATA_DIR":         dir,
		"SWITCHBOARD_SECRET":           strings.Repeat("b", 32),
		"SWITCHBOARD_DEMO":             "false",
		"SWITCHBOARD_PRESENCE_GRACE":   "1s",
		"SWITCHBOARD_ACCESS_TOKEN_TTL": "1h",
	}
	cfg, err := app.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	cfg.Gateway = gw
	cfg.Gateway.MaxConnectionsPerAgent = math.MaxInt32
	bus := &countingBus{Bus: realtime.NewMemory()}
	a, err := app.New(ctx, cfg, app.WithBus(bus), app.WithWorkers(false),
		app.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		a.Close()
		return nil, err
	}
	b, err := seedTenant(ctx, a)
	if err != nil {
		a.Close()
		return nil, err
	}
	b.bus = bus
	return b, nil
}

func seedTenant(ctx context.Context, a *app.App) (*bench, error) {
	db := a.DB
	ten, _, err := tenant.Create(ctx, db.Client, tenant.Input{Name: "Bench", Slug: slug, OwnerName: "Owner", OwnerEmail: email, OwnerPassword: password})
	if err != nil {
		return nil, fmt.Errorf("tenant: %w", err)
	}
	sys := viewer.System(ctx, ten.ID)
	num, err := db.Client.Number.Create().SetPhone("+33612340000").SetDisplayName("Main").Save(sys)
	if err != nil {
		return nil, fmt.Errorf("number: %w", err)
	}
	ct, err := db.Client.Contact.Create().SetWaID("33700000001").SetProfileName("Customer").SetPhone("+33700000001").Save(sys)
	if err != nil {
		return nil, fmt.Errorf("contact: %w", err)
	}
	conv, err := db.Client.Conversation.Create().SetNumberID(num.ID).SetContactID(ct.ID).Save(sys)
	if err != nil {
		return nil, fmt.Errorf("conversation: %w", err)
	}
	grant, err := a.Auth.Login(ctx, email, password, slug, auth.ClientInfo{UserAgent: "bench"})
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	return &bench{app: a, tenantID: ten.ID, conversationID: conv.ID, conversation: string(conv.Status), token: grant.AccessToken}, nil
}
