package main

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/switchboard-dev/switchboard/bench/realtime/internal/wire"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
	"github.com/switchboard-dev/switchboard/viewer"
)

// countingBus counts the tenant subscriptions the resolvers open: with the
// stock transport, one per subscriber, which tells when all are live.
type countingBus struct {
	realtime.Bus
	opened atomic.Int64
}

func (b *countingBus) Subscribe(ctx context.Context, tenantID string) (*realtime.Subscription, error) {
	s, err := b.Bus.Subscribe(ctx, tenantID)
	if err == nil && tenantID != "" {
		b.opened.Add(1)
	}
	return s, err
}

// apiTransport is the real API handler (graph.NewAPI) with a websocket
// transport; events go through the bus, as the domain services publish them.
type apiTransport struct {
	http.Handler
	app *app
	gw  *gateway.Gateway // nil for the stock transport
}

func (t *apiTransport) publish(ctx context.Context) error {
	_, err := t.app.bus.Publish(ctx, realtime.Event{TenantID: t.app.tenantID, Type: realtime.ConversationChanged,
		Subject: t.app.conversationID, Data: realtime.Kinded(realtime.KindStatusChanged)})
	return err
}

func (t *apiTransport) stats(s *wire.Stats) {
	if t.gw == nil {
		s.Subscribed = int(t.app.bus.opened.Load())
		return
	}
	gs := t.gw.Stats()
	s.Gateway, s.Subscribed = &gs, gs.Subscriptions
}

// newGatewayTransport is the API as server.go mounts it, with the gateway
// configured by cfg (zero values: the defaults) except for the per-agent
// connection cap: every benchmark client signs in as the same owner.
func newGatewayTransport(a *app, cfg graph.GatewayConfig) *apiTransport {
	cfg.MaxConnectionsPerAgent = math.MaxInt32
	gw := graph.NewGateway(a.resolver, cfg)
	if err := graph.FollowPolicy(context.Background(), a.bus, a.authz, gw, slog.Default()); err != nil {
		panic(err) // the memory bus only fails once closed
	}
	return &apiTransport{Handler: graph.NewAPI(a.resolver, graph.DefaultConfig, gw), app: a, gw: gw}
}

// newStockTransport is the same API with gqlgen's stock websocket transport
// in the gateway's place: first among the transports, reached by upgrades
// without the HTTP bearer middleware, admitting connections from
// connection_init exactly as the gateway does (authenticate, then admit).
func newStockTransport(a *app) *apiTransport {
	ws := transport.Websocket{
		KeepAlivePingInterval: 25 * time.Second,
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			token := strings.TrimSpace(p.Authorization())
			if scheme, cred, ok := strings.Cut(token, " "); ok && strings.EqualFold(scheme, "Bearer") {
				token = cred
			}
			if token == "" {
				return ctx, nil, errors.New("connection_init needs {\"Authorization\": \"Bearer <token>\"}")
			}
			v, err := a.auth.Authenticate(ctx, token)
			if err != nil {
				return ctx, nil, err
			}
			actx, err := a.authz.Admit(viewer.NewContext(ctx, v), v)
			if err != nil {
				return ctx, nil, err
			}
			return actx, nil, nil
		},
	}
	return &apiTransport{Handler: graph.NewAPI(a.resolver, graph.DefaultConfig, ws), app: a}
}
