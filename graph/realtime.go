package graph

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/number"
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
	cfg.Personal = personalField
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
	if ctx, v, err = pinNumbers(ctx, r.client, v); err != nil {
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

// pinNumbers fixes, for a live connection, the numbers a viewer with
// conversation.read.number sees (viewer.Scope.NumbersPinned): what they may
// see then depends on their numbers, not on who they are, and agents on the
// same numbers share executions (fingerprint). When the agent's numbers
// change (an AgentChanged event), FollowPolicy re-admits their connections,
// which pins the new set.
func pinNumbers(ctx context.Context, client *ent.Client, v *viewer.Viewer) (context.Context, *viewer.Viewer, error) {
	s := v.Scope
	if s.AllConversations || !s.NumberConversations || v.AgentID == "" {
		return ctx, v, nil
	}
	ids, err := client.Number.Query().Where(number.HasMembersWith(agent.ID(v.AgentID))).IDs(viewer.System(ctx, v.TenantID))
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(ids)
	pinned := *v
	pinned.Scope.NumbersPinned, pinned.Scope.Numbers = true, ids
	return viewer.NewContext(ctx, &pinned), &pinned, nil
}

// fingerprint names what a subscriber may see: the tenant, the decisions of
// their role set (one value per policy version), and their row scope short
// of everything: their pinned numbers, and the agent when conversations
// assigned to them count. Subscribers with equal fingerprints see the same
// rows and fields, and share executions.
func fingerprint(ctx context.Context) string {
	v := viewer.FromContext(ctx)
	if v == nil {
		return ""
	}
	var scope strings.Builder
	switch s := v.Scope; {
	case s.AllConversations:
	case s.NumberConversations && !s.NumbersPinned:
		scope.WriteString(v.AgentID) // their numbers are read at each query
	default:
		if s.AssignedConversations {
			scope.WriteString(v.AgentID)
		}
		if s.NumberConversations {
			scope.WriteString("|n:" + strings.Join(s.Numbers, ","))
		}
	}
	return fmt.Sprintf("%s|%p|%s", v.TenantID, policy.FromContext(ctx), scope.String())
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
	f := &follower{gw: gw, seen: map[string]uint64{}, pending: map[string]uint64{}, inflight: map[string]uint64{},
		agents: map[string]map[string]uint64{}, wake: make(chan struct{}, 1)}
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
					f.readmit(e.TenantID, "", e.Seq)
				case realtime.AgentChanged:
					// Their numbers may have changed: what their connections pinned.
					f.readmit(e.TenantID, e.Subject, e.Seq)
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
				f.readmit("", "", 0)
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
	pending  map[string]uint64 // tenants to re-admit ("" for all): their first change not applied
	inflight map[string]uint64 // likewise, for the re-admissions under way
	// agents: the agents to re-admit of a pending tenant, with the Seq of
	// their first change; nil when the whole tenant is.
	agents map[string]map[string]uint64
	wake   chan struct{}
}

// readmit schedules the re-admission of tenantID's connections (agentID's
// only, unless agentID is "").
func (f *follower) readmit(tenantID, agentID string, seq uint64) {
	f.mu.Lock()
	first, ok := f.pending[tenantID]
	if !ok || seq < first {
		f.pending[tenantID] = seq
	}
	switch agents := f.agents[tenantID]; {
	case agentID == "":
		f.agents[tenantID] = nil
	case !ok:
		f.agents[tenantID] = map[string]uint64{agentID: seq}
	case agents != nil:
		if first, ok := agents[agentID]; !ok || seq < first {
			agents[agentID] = seq
		}
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
		tenants, agents := f.pending, f.agents
		f.pending, f.agents = map[string]uint64{}, map[string]map[string]uint64{}
		for t, seq := range tenants {
			f.inflight[t] = seq
		}
		f.mu.Unlock()
		if _, all := tenants[""]; all {
			f.gw.ReadmitAll()
			f.gw.AppliedAll()
		} else {
			for t := range tenants {
				if agents[t] == nil {
					f.gw.Readmit(t)
					continue
				}
				for a, seq := range agents[t] {
					f.gw.ReadmitAgent(a, seq)
				}
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
