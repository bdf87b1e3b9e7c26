package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/presence"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/tenant"
	"github.com/switchboard-dev/switchboard/viewer"
)

// app is the API's wiring as server.go does it, over SQLite and the memory
// bus, with one tenant, one conversation and the owner signed in.
type app struct {
	db             *store.DB
	auth           *auth.Service
	authz          *policy.Authorizer
	bus            *countingBus
	resolver       *graph.Resolver
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

func seed(ctx context.Context, dir string) (*app, error) {
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "bench.db"))
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	a, err := newApp(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func newApp(ctx context.Context, db *store.DB) (*app, error) {
	tokens, err := auth.NewTokens([]byte(strings.Repeat("b", 32)), time.Hour)
	if err != nil {
		return nil, err
	}
	authz := policy.NewAuthorizer(db.Client)
	bus := &countingBus{Bus: realtime.NewMemory()}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := auth.NewService(db.Client, tokens, authz, realtime.NewPublisher(bus, log), time.Hour)
	tracker := presence.NewTracker(db.Client, bus, time.Second, log)
	go tracker.Run(ctx)
	r := graph.NewResolver(graph.Deps{Client: db.Client, Auth: svc, Authz: authz, Bus: bus, Presence: tracker})

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
	grant, err := svc.Login(ctx, email, password, slug, auth.ClientInfo{UserAgent: "bench"})
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	return &app{db: db, auth: svc, authz: authz, bus: bus, resolver: r, tenantID: ten.ID,
		conversationID: conv.ID, conversation: string(conv.Status), token: grant.AccessToken}, nil
}
