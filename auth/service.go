package auth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/apikey"
	"github.com/switchboard-dev/switchboard/ent/predicate"
	"github.com/switchboard-dev/switchboard/ent/session"
	"github.com/switchboard-dev/switchboard/ent/tenant"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Service signs agents in and out and manages API keys.
type Service struct {
	client     *ent.Client
	tokens     *Tokens
	authz      *policy.Authorizer
	pub        *realtime.Publisher
	refreshTTL time.Duration
	clock      clock.Clock
	throttle   *throttle
	// checkPassword is CheckPassword; tests count its calls.
	checkPassword func(hash, password string) (bool, error)
}

// NewService returns a Service issuing access tokens with tokens and refresh
// tokens valid for refreshTTL after their last use; authz admits each
// request, pub tells every instance when a session ends, and clk says when
// sessions, API keys, reset tokens and sign-in locks expire.
func NewService(client *ent.Client, tokens *Tokens, authz *policy.Authorizer, pub *realtime.Publisher, refreshTTL time.Duration, clk clock.Clock) *Service {
	return &Service{
		client: client, tokens: tokens, authz: authz, pub: pub, refreshTTL: refreshTTL, clock: clk,
		throttle: &throttle{client: client, clock: clk.Now}, checkPassword: CheckPassword,
	}
}

// Grant is what a successful login or refresh hands out.
type Grant struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
	Agent            *ent.Agent
}

// ClientInfo describes where a request comes from: kept on a sign-in's
// session, recorded with an export's download.
type ClientInfo struct {
	UserAgent string
	IP        string
}

// ClientOf is where r comes from. The IP is the connection's peer, never
// X-Forwarded-For: a header the client writes itself would let it choose the
// address recorded. Behind a reverse proxy that is the proxy's address.
func ClientOf(r *http.Request) ClientInfo {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return ClientInfo{UserAgent: r.UserAgent(), IP: ip}
}

var errBadCredentials = apperr.New(apperr.Unauthenticated, "invalid email or password")

// maxAccountsPerEmail bounds the accounts one login reads.
const maxAccountsPerEmail = 5

// Login checks email and password and opens a session. Emails are unique
// within a tenant, not across tenants (a global index would let one tenant
// probe another's staff). An email used in several tenants signs in to the
// first of its accounts (the oldest enabled one) unless tenantSlug names
// another.
//
// Every attempt costs exactly one password check, against that account, or
// against a dummy hash when the email is unknown: the time a login takes
// says nothing of whether the email exists or in how many tenants.
//
// Attempts are throttled per email and per client address (RATE_LIMITED
// with a wait once too many failed), and failures are audited aggregated.
func (s *Service) Login(ctx context.Context, email, password, tenantSlug string, info ClientInfo) (*Grant, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if err := s.throttle.admit(ctx, email, info.IP); err != nil {
		return nil, err
	}
	q := s.client.Agent.Query().Where(agent.Email(email))
	if tenantSlug != "" {
		q = q.Where(agent.HasTenantWith(tenant.Slug(strings.ToLower(tenantSlug))))
	}
	accounts, err := q.Order(agent.ByCreatedAt(), agent.ByID()).Limit(maxAccountsPerEmail).All(viewer.Platform(ctx))
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	a := firstEnabled(accounts)
	hash := dummyHash
	if a != nil {
		hash = a.PasswordHash
	}
	ok, err := s.checkPassword(hash, password)
	if err != nil && a != nil {
		return nil, fmt.Errorf("login %s: %w", a.ID, err)
	}
	if a == nil || !ok {
		if err := s.throttle.failed(ctx, accounts, email, info.IP); err != nil {
			return nil, fmt.Errorf("login: %w", err)
		}
		return nil, errBadCredentials
	}
	s.throttle.succeeded(ctx, email, info.IP)
	if a.DisabledAt != nil {
		return nil, apperr.New(apperr.Unauthenticated, "this account is disabled")
	}
	g, err := s.openSession(ctx, a, info)
	if err != nil {
		return nil, fmt.Errorf("login %s: %w", a.ID, err)
	}
	return g, nil
}

// firstEnabled is the account of accounts (oldest first) whose password a
// login checks: the oldest enabled one, else the oldest; nil when there is
// none.
func firstEnabled(accounts []*ent.Agent) *ent.Agent {
	for _, a := range accounts {
		if a.DisabledAt == nil {
			return a
		}
	}
	if len(accounts) > 0 {
		return accounts[0]
	}
	return nil
}

// openSession opens a session for a, recording the sign-in as a.
func (s *Service) openSession(ctx context.Context, a *ent.Agent, info ClientInfo) (*Grant, error) {
	family := randomToken("")
	refresh := newRefreshToken(family)
	actx := viewer.NewContext(ctx, &viewer.Viewer{Kind: viewer.KindAgent, TenantID: a.TenantID, AgentID: a.ID, Scope: viewer.Everything})
	ses, err := store.InTx(actx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Session, error) {
		ses, err := tx.Session.Create().
			SetAgentID(a.ID).
			SetRefreshHash(digest(refresh)).
			SetFamilyHash(digest(family)).
			SetUserAgent(truncate(info.UserAgent, 512)).
			SetIP(truncate(info.IP, 64)).
			SetExpiresAt(s.clock.Now().Add(s.refreshTTL)).
			Save(ctx)
		if err != nil {
			return nil, err
		}
		return ses, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionLogin, TargetID: ses.ID,
			Summary: fmt.Sprintf("%s signed in from %s", a.Name, info.IP),
		})
	})
	if err != nil {
		return nil, fmt.Errorf("open session: %w", err)
	}
	return s.grant(a, ses, refresh)
}

// Refresh exchanges a refresh token for a new token pair. A token that was
// already rotated out (any token of the session's family, however old)
// revokes its session: someone holds a copy.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (*Grant, error) {
	pctx := viewer.Platform(ctx)
	h := digest(refreshToken)
	match := []predicate.Session{session.RefreshHash(h), session.PreviousHash(h)}
	family, hasFamily := familyOf(refreshToken)
	if hasFamily {
		// Any token the session ever issued names its family.
		match = append(match, session.FamilyHash(digest(family)))
	}
	ses, err := s.client.Session.Query().
		Where(session.Or(match...)).
		WithAgent().
		First(pctx)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.Unauthenticated, "unknown refresh token")
	}
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	now := s.clock.Now()
	if ses.RefreshHash != h {
		if err := s.revokeSession(ctx, ses.TenantID, ses.ID); err != nil {
			return nil, err
		}
		return nil, apperr.New(apperr.Unauthenticated, "refresh token reused: the session is revoked")
	}
	switch {
	case ses.RevokedAt != nil:
		return nil, apperr.New(apperr.Unauthenticated, "the session is revoked")
	case now.After(ses.ExpiresAt):
		return nil, apperr.New(apperr.Unauthenticated, "the session has expired")
	case ses.Edges.Agent.DisabledAt != nil:
		return nil, apperr.New(apperr.Unauthenticated, "this account is disabled")
	}
	next := randomToken("rt_")
	if hasFamily {
		next = newRefreshToken(family)
	}
	// Conditional on the old hash: of two concurrent refreshes, one wins.
	n, err := s.client.Session.Update().
		Where(session.ID(ses.ID), session.RefreshHash(h), session.RevokedAtIsNil()).
		SetRefreshHash(digest(next)).
		SetPreviousHash(h).
		SetLastUsedAt(now).
		SetExpiresAt(now.Add(s.refreshTTL)).
		Save(pctx)
	if err != nil {
		return nil, fmt.Errorf("refresh %s: %w", ses.ID, err)
	}
	if n == 0 {
		return nil, apperr.New(apperr.Unauthenticated, "refresh token already used")
	}
	ses.ExpiresAt = now.Add(s.refreshTTL)
	return s.grant(ses.Edges.Agent, ses, next)
}

// Logout revokes the session of refreshToken, or the viewer's own session
// when refreshToken is empty. It only touches sessions of the viewer's tenant.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	v := viewer.FromContext(ctx)
	if v == nil {
		return apperr.New(apperr.Unauthenticated, "sign in first")
	}
	q := s.client.Session.Query().Where(session.RevokedAtIsNil())
	switch {
	case refreshToken != "":
		q = q.Where(session.RefreshHash(digest(refreshToken)))
	case v.SessionID != "":
		q = q.Where(session.ID(v.SessionID))
	default:
		return apperr.Invalid("refreshToken", "an API key has no session; pass the refresh token to end")
	}
	ses, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return apperr.New(apperr.NotFound, "no such session")
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return s.revokeSession(ctx, ses.TenantID, ses.ID)
}

// RevokeAgentSessions ends every session of agentID (used when an agent is
// disabled or loses roles).
func RevokeAgentSessions(ctx context.Context, client *ent.Client, agentID string, at time.Time) error {
	_, err := client.Session.Update().
		Where(session.AgentID(agentID), session.RevokedAtIsNil()).
		SetRevokedAt(at).
		Save(ctx)
	if err != nil {
		return fmt.Errorf("revoke sessions of %s: %w", agentID, err)
	}
	return nil
}

// revokeSession ends a session: its refresh token stops working, and so do,
// on every instance, its access tokens and live connections.
func (s *Service) revokeSession(ctx context.Context, tenantID, id string) error {
	return store.WithTx(viewer.System(ctx, tenantID), s.client, func(ctx context.Context, tx *ent.Tx) error {
		if err := tx.Session.UpdateOneID(id).SetRevokedAt(s.clock.Now()).Exec(ctx); err != nil {
			return fmt.Errorf("revoke session %s: %w", id, err)
		}
		s.authz.InvalidateOnCommit(ctx, tx)
		s.pub.OnCommit(tx, realtime.SessionRevokedEvent(tenantID, id))
		return nil
	})
}

func (s *Service) grant(a *ent.Agent, ses *ent.Session, refresh string) (*Grant, error) {
	access, exp, err := s.tokens.Issue(a.TenantID, a.ID, ses.ID, a.Roles)
	if err != nil {
		return nil, err
	}
	return &Grant{
		AccessToken:      access,
		AccessExpiresAt:  exp,
		RefreshToken:     refresh,
		RefreshExpiresAt: ses.ExpiresAt,
		Agent:            a,
	}, nil
}

// APIKeyPrefix starts every API key.
const APIKeyPrefix = "sk_"

// CreateAPIKey makes a key for the viewer's tenant and returns it with its
// secret, which is not stored and cannot be shown again.
func (s *Service) CreateAPIKey(ctx context.Context, name, role string, expiresAt *time.Time) (*ent.APIKey, string, error) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return nil, "", apperr.New(apperr.Unauthenticated, "sign in first")
	}
	if err := policy.CheckRoles(ctx, s.client, []string{role}); err != nil {
		return nil, "", err
	}
	if expiresAt != nil && !expiresAt.After(s.clock.Now()) {
		return nil, "", apperr.Invalid("expiresAt", "must be in the future")
	}
	secret := randomToken(APIKeyPrefix)
	k, err := store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.APIKey, error) {
		create := tx.APIKey.Create().
			SetName(strings.TrimSpace(name)).
			SetRole(role).
			SetPrefix(secret[:len(APIKeyPrefix)+6]).
			SetSecretHash(digest(secret)).
			SetNillableExpiresAt(expiresAt)
		switch {
		case v.AgentID != "":
			create.SetCreatedByID(v.AgentID)
		case v.KeyCreatorID != "":
			// A key made with a key answers to the same person.
			create.SetCreatedByID(v.KeyCreatorID)
		}
		k, err := create.Save(ctx)
		if err != nil {
			return nil, err
		}
		return k, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionAPIKeyCreated, TargetID: k.ID,
			Summary: fmt.Sprintf("API key %q (%s…) with role %s", k.Name, k.Prefix, k.Role),
		})
	})
	if err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// RevokeAPIKey revokes a key of the viewer's tenant; revoking twice is harmless.
func (s *Service) RevokeAPIKey(ctx context.Context, id string) (*ent.APIKey, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.APIKey, error) {
		k, err := tx.APIKey.Get(ctx, id)
		if err != nil || k.RevokedAt != nil {
			return k, err
		}
		if k, err = k.Update().SetRevokedAt(s.clock.Now()).Save(ctx); err != nil {
			return nil, err
		}
		// Its live connections close on every instance once this commits.
		s.pub.OnCommit(tx, realtime.APIKeyRevokedEvent(k.TenantID, k.ID))
		return k, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionAPIKeyRevoked, TargetID: k.ID, Summary: fmt.Sprintf("revoked API key %q", k.Name),
		})
	})
}

// apiKeyTouchEvery limits how often last_used_at is written.
const apiKeyTouchEvery = time.Minute

// AuthenticateAPIKey returns the viewer of an API key secret.
func (s *Service) AuthenticateAPIKey(ctx context.Context, secret string) (*viewer.Viewer, error) {
	pctx := viewer.Platform(ctx)
	k, err := s.client.APIKey.Query().Where(apikey.SecretHash(digest(secret))).Only(pctx)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.Unauthenticated, "unknown API key")
	}
	if err != nil {
		return nil, fmt.Errorf("api key: %w", err)
	}
	now := s.clock.Now()
	if k.RevokedAt != nil {
		return nil, apperr.New(apperr.Unauthenticated, "the API key is revoked")
	}
	if k.ExpiresAt != nil && now.After(*k.ExpiresAt) {
		return nil, apperr.New(apperr.Unauthenticated, "the API key has expired")
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > apiKeyTouchEvery {
		if err := k.Update().SetLastUsedAt(now).Exec(pctx); err != nil {
			return nil, fmt.Errorf("api key %s: touch: %w", k.ID, err)
		}
	}
	v := &viewer.Viewer{Kind: viewer.KindAPIKey, TenantID: k.TenantID, APIKeyID: k.ID, Roles: []string{k.Role}}
	if k.ExpiresAt != nil {
		v.ExpiresAt = *k.ExpiresAt
	}
	if k.CreatedByID != nil {
		v.KeyCreatorID = *k.CreatedByID
	}
	return v, nil
}

// Authenticate returns the viewer of a bearer credential: an API key or an
// access token.
func (s *Service) Authenticate(ctx context.Context, bearer string) (*viewer.Viewer, error) {
	if strings.HasPrefix(bearer, APIKeyPrefix) {
		return s.AuthenticateAPIKey(ctx, bearer)
	}
	v, err := s.tokens.Verify(bearer)
	if err != nil {
		return nil, &apperr.Error{Code: apperr.Unauthenticated, Message: "invalid or expired access token", Err: err}
	}
	return v, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
