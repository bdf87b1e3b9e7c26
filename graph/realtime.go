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

// NewGateway returns the live transports of the API (websocket, and SSE
// through its SSE method): connections are
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
		return nil, gateway.Identity{}, apperr.New(apperr.Unauthenticated, "sign in: pass {\"Authorization\": \"Bearer <token>\"} in connection_init (or the Authorization header)")
	}
	ctx, v, err := r.auth.Admit(ctx, token)
	if err != nil {
		return nil, gateway.Identity{}, admissionError(err)
	}
	return ctx, gateway.Identity{
		TenantID: v.TenantID, AgentID: v.AgentID, SessionID: v.SessionID,
		APIKeyID: v.APIKeyID, KeyCreatorID: v.KeyCreatorID, ExpiresAt: v.ExpiresAt,
	}, nil
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
// agent, a session or an API key was revoked (close their connections with
// 4403). It runs until ctx ends, and tells the gateway how far each tenant's
// revocations are applied (gateway.AwaitRevocation), so that no event
// published after a revocation reaches a connection it revokes.
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
	f := &follower{gw: gw, seen: map[string]uint64{}, pending: map[string]uint64{}, inflight: map[string]uint64{}, wake: make(chan struct{}, 1)}
	go f.readmitLoop(ctx)
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
					f.readmit(e.TenantID, e.Seq)
				case realtime.AgentRevoked:
					authz.Invalidate(e.TenantID)
					gw.CloseAgent(e.Subject, "forbidden: access revoked")
				case realtime.SessionRevoked:
					authz.Invalidate(e.TenantID)
					gw.CloseSession(e.Subject, "forbidden: the session has ended")
				case realtime.APIKeyRevoked:
					gw.CloseAPIKey(e.Subject, "forbidden: the API key was revoked")
				}
				if realtime.Revokes(e) {
					f.applied(e.TenantID, e.Seq)
				}
			case <-sub.Resync():
				// Announcements may have been missed: nothing cached can be trusted.
				log.Warn("realtime: policy announcements missed; reloading every tenant")
				authz.InvalidateAll()
				f.readmit("", 0)
			}
		}
	}()
	return nil
}

// follower tracks, per tenant, the revocations seen and the re-admissions
// not yet done, so that the gateway is told a revocation is applied only once
// every one before it is.
type follower struct {
	gw *gateway.Gateway

	mu       sync.Mutex
	seen     map[string]uint64 // the last revocation seen, per tenant
	pending  map[string]uint64 // tenants to re-admit ("" for all): their first policy change not applied
	inflight map[string]uint64 // likewise, for the re-admissions under way
	wake     chan struct{}
}

func (f *follower) readmit(tenantID string, seq uint64) {
	f.mu.Lock()
	if first, ok := f.pending[tenantID]; !ok || seq < first {
		f.pending[tenantID] = seq
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// applied records seq as seen and tells the gateway how far tenantID's
// revocations are applied: up to the first re-admission still to do.
func (f *follower) applied(tenantID string, seq uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen[tenantID] = max(f.seen[tenantID], seq)
	f.tell(tenantID)
}

func (f *follower) tell(tenantID string) {
	upTo := f.seen[tenantID]
	for _, waiting := range []map[string]uint64{f.pending, f.inflight} {
		if first, ok := waiting[tenantID]; ok && first <= upTo {
			upTo = first - 1
		}
	}
	f.gw.Applied(tenantID, upTo)
}

func (f *follower) readmitLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
		f.mu.Lock()
		tenants := f.pending
		f.pending = map[string]uint64{}
		for t, seq := range tenants {
			f.inflight[t] = seq
		}
		f.mu.Unlock()
		if _, all := tenants[""]; all {
			f.gw.ReadmitAll()
			f.gw.AppliedAll()
		} else {
			for t := range tenants {
				f.gw.Readmit(t)
			}
		}
		f.mu.Lock()
		for t := range tenants {
			delete(f.inflight, t)
			if t != "" {
				f.tell(t)
			}
		}
		f.mu.Unlock()
	}
}
