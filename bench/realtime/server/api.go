package main

import (
	"context"
	"errors"
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

// apiTransport is the real API handler with a websocket transport; events
// go through the bus, as the domain services publish them.
type apiTransport struct {
	http.Handler
	b  *bench
	gw *gateway.Gateway // nil for the stock transport
}

func (t *apiTransport) publish(ctx context.Context) error {
	_, err := t.b.bus.Publish(ctx, realtime.ConversationEvent(t.b.tenantID, t.b.conversationID, realtime.KindStatusChanged))
	return err
}

func (t *apiTransport) stats(s *wire.Stats) {
	if t.gw == nil {
		s.Subscribed = int(t.b.bus.opened.Load())
		return
	}
	gs := t.gw.Stats()
	s.Gateway, s.Subscribed = &gs, gs.Subscriptions
}

// newGatewayTransport is the API as the server mounts it (App.API), with the
// App's gateway.
func newGatewayTransport(b *bench) *apiTransport {
	return &apiTransport{Handler: b.app.API(), b: b, gw: b.app.Gateway}
}

// newStockTransport is the same API with gqlgen's stock websocket transport
// in the gateway's place: first among the transports, reached by upgrades
// without the HTTP bearer middleware, admitting connections from
// connection_init exactly as the gateway does (authenticate, then admit).
func newStockTransport(b *bench) *apiTransport {
	a := b.app
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
			v, err := a.Auth.Authenticate(ctx, token)
			if err != nil {
				return ctx, nil, err
			}
			actx, err := a.Authz.Admit(viewer.NewContext(ctx, v), v)
			if err != nil {
				return ctx, nil, err
			}
			return actx, nil, nil
		},
	}
	return &apiTransport{Handler: graph.NewAPI(a.Resolver, a.Config.API, ws), b: b}
}
