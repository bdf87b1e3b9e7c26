package graph

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
	"github.com/switchboard-dev/switchboard/viewer"
)

// GatewayConfig is the websocket side's configuration; zero values take the
// gateway's defaults.
type GatewayConfig = gateway.Config

// NewGateway returns the websocket transport of the API: connections are
// admitted with the same credentials and policy as HTTP requests, and
// subscriptions with the same permissions share their executions.
func NewGateway(r *Resolver, cfg GatewayConfig) *gateway.Gateway {
	cfg.Credential = wsCredential
	cfg.Admit = r.admitConnection
	cfg.Fingerprint = fingerprint
	cfg.Coalesce = func(field string) bool {
		return field == "dashboard" || field == "numberStatusChanged" || field == "agentPresenceChanged"
	}
	if r.presence != nil {
		cfg.OnConnect = func(id gateway.Identity) { r.presence.Connected(id.TenantID, id.AgentID) }
		cfg.OnDisconnect = func(id gateway.Identity) { r.presence.Disconnected(id.TenantID, id.AgentID) }
	}
	return gateway.New(cfg)
}

// wsCredential reads a websocket's credential from its connection_init payload
// ({"Authorization": "Bearer …"}, or "token") or, for clients that can set
// headers, the upgrade request's Authorization header.
func wsCredential(header string, payload map[string]any) string {
	for _, k := range []string{"Authorization", "authorization", "token", "authToken", "accessToken"} {
		if s, ok := payload[k].(string); ok && s != "" {
			return bearer(s)
		}
	}
	return bearer(header)
}

// admitConnection authenticates a websocket's credential as a request's.
func (r *Resolver) admitConnection(ctx context.Context, token string) (context.Context, gateway.Identity, error) {
	if token == "" {
		return nil, gateway.Identity{}, apperr.New(apperr.Unauthenticated, "connection_init needs {\"Authorization\": \"Bearer <token>\"}")
	}
	ctx, v, err := r.auth.Admit(ctx, token)
	if err != nil {
		return nil, gateway.Identity{}, admissionError(err)
	}
	return ctx, gateway.Identity{TenantID: v.TenantID, AgentID: v.AgentID, SessionID: v.SessionID}, nil
}

// admissionError tells a refusal (an error with a code) from a failure to
// decide (the database), which must not look like "forbidden" to clients.
func admissionError(err error) error {
	if apperr.CodeOf(err) == "" {
		return fmt.Errorf("%w: %w", gateway.ErrUnavailable, err)
	}
	return err
}

func bearer(s string) string {
	s = strings.TrimSpace(s)
	if scheme, cred, ok := strings.Cut(s, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(cred)
	}
	return s
}

// fingerprint names what a subscriber may see: the tenant, the decisions of
// their role set (one value per policy version), and, when their row scope
// depends on who they are, the agent.
func fingerprint(ctx context.Context) string {
	v := viewer.FromContext(ctx)
	if v == nil {
		return ""
	}
	who := ""
	if !v.Scope.AllConversations {
		who = v.AgentID
	}
	return fmt.Sprintf("%s|%p|%s", v.TenantID, policy.FromContext(ctx), who)
}

// FollowPolicy applies, on this instance, what other instances announce:
// a tenant's policy changed (reload it, re-admit its connections) or an
// agent was revoked (close their connections with 4403). It runs until ctx
// ends.
//
// It hears every tenant's traffic, so its loop only does cheap work:
// re-admissions (database reads, restarted subscriptions) are handed to a
// worker that coalesces them, or a burst of messages would overflow the
// subscription while one tenant is re-admitted, and the resync that follows
// would re-admit every tenant, again and again.
func FollowPolicy(ctx context.Context, bus realtime.Bus, authz *policy.Authorizer, gw *gateway.Gateway, log *slog.Logger) error {
	sub, err := bus.Subscribe(ctx, "")
	if err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		pending = map[string]bool{} // tenants to re-admit; "" for all
		wake    = make(chan struct{}, 1)
	)
	readmit := func(tenantID string) {
		mu.Lock()
		pending[tenantID] = true
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
			mu.Lock()
			tenants := pending
			pending = map[string]bool{}
			mu.Unlock()
			if tenants[""] {
				gw.ReadmitAll()
				continue
			}
			for t := range tenants {
				gw.Readmit(t)
			}
		}
	}()
	go func() {
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.Events():
				if !ok {
					return
				}
				switch e.Type {
				case realtime.PolicyChanged:
					authz.Invalidate(e.TenantID)
					readmit(e.TenantID)
				case realtime.AgentRevoked:
					authz.Invalidate(e.TenantID)
					gw.CloseAgent(e.Subject, "forbidden: access revoked")
				case realtime.SessionRevoked:
					authz.Invalidate(e.TenantID)
					gw.CloseSession(e.Subject, "forbidden: the session has ended")
				}
			case <-sub.Resync():
				// Announcements may have been missed: nothing cached can be trusted.
				log.Warn("realtime: policy announcements missed; reloading every tenant")
				authz.InvalidateAll()
				readmit("")
			}
		}
	}()
	return nil
}
