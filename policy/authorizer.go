package policy

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/session"
	"github.com/switchboard-dev/switchboard/viewer"
)

//go:embed model.conf
var modelText string

// Casbin actions.
const (
	actUse  = "use"  // a feature switch
	actRead = "read" // a field: allow or deny
	actMask = "mask" // a field: allowed in redacted form
)

// Authorizer answers what a viewer may do. Per tenant it keeps a Casbin
// enforcer loaded with that tenant's rules and, per role set, the Decisions
// computed from it: Casbin is asked once per distinct question, and the
// answers are reused until the tenant's policy changes (Invalidate).
type Authorizer struct {
	client  *ent.Client
	adapter *Adapter

	mu      sync.Mutex
	tenants map[string]*tenantPolicy
}

// NewAuthorizer returns an Authorizer over client.
func NewAuthorizer(client *ent.Client) *Authorizer {
	return &Authorizer{client: client, adapter: NewAdapter(client), tenants: map[string]*tenantPolicy{}}
}

// tenantPolicy is one tenant's loaded policy.
type tenantPolicy struct {
	tenantID string
	load     sync.Once
	err      error

	enforcer   *casbin.Enforcer
	overridden []Coordinate         // coordinates with a tenant rule
	validAfter map[string]time.Time // agent id → tokens issued before are refused
	creators   map[string]creator   // API keys' creators, by agent id
	revoked    map[string]bool      // sessions ended recently: their tokens are refused

	mu        sync.Mutex // guards decisions and the enforcer's role manager
	decisions map[string]*Decisions
}

// Invalidate drops what is known of a tenant's policy: the next request loads
// it again. The role and agent services call it when their change commits;
// other instances will be told through the event bus.
func (a *Authorizer) Invalidate(tenantID string) {
	a.mu.Lock()
	delete(a.tenants, tenantID)
	a.mu.Unlock()
}

// InvalidateAll drops every tenant's policy, after announcements may have
// been missed.
func (a *Authorizer) InvalidateAll() {
	a.mu.Lock()
	a.tenants = map[string]*tenantPolicy{}
	a.mu.Unlock()
}

// InvalidateOnCommit makes the tenant of ctx's viewer reload its policy once
// tx commits (and not if it rolls back). A nil Authorizer does nothing, for
// services running before there is one (seeding).
func (a *Authorizer) InvalidateOnCommit(ctx context.Context, tx *ent.Tx) {
	if a == nil {
		return
	}
	tenantID := viewer.FromContext(ctx).TenantID
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil {
				a.Invalidate(tenantID)
			}
			return err
		})
	})
}

// RevocationInstant is "now" as a revocation stores it: access tokens issued
// up to it are refused. It keeps the microseconds both databases keep.
func RevocationInstant() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Admit checks that v's credential still stands and returns ctx carrying the
// viewer's Decisions, with v.Scope filled in.
func (a *Authorizer) Admit(ctx context.Context, v *viewer.Viewer) (context.Context, error) {
	if v.Kind == viewer.KindSystem {
		v.Scope = viewer.Everything
		return ctx, nil
	}
	tp, err := a.tenant(ctx, v.TenantID)
	if err != nil {
		return nil, err
	}
	if v.Kind == viewer.KindAgent {
		if after, ok := tp.validAfter[v.AgentID]; ok && !v.IssuedAt.After(after) {
			return nil, apperr.New(apperr.Unauthenticated, "this access token was revoked: refresh or sign in again")
		}
		if tp.revoked[v.SessionID] {
			return nil, apperr.New(apperr.Unauthenticated, "this session has ended: sign in again")
		}
	}
	d, err := tp.decide(v.Roles)
	if err != nil {
		return nil, err
	}
	if v.Kind == viewer.KindAPIKey && v.KeyCreatorID != "" {
		// A key acts with at most its creator's rights as they are now.
		c, err := a.creatorOf(ctx, tp, v.KeyCreatorID)
		if err != nil {
			return nil, err
		}
		if c.disabled {
			return nil, apperr.New(apperr.Unauthenticated, "the API key's creator is disabled or gone: the key no longer works")
		}
		if d, err = tp.bounded(v.Roles, c.roles); err != nil {
			return nil, err
		}
	}
	v.Scope = d.scope
	return NewContext(ctx, d), nil
}

// creatorOf returns what bounds the keys agentID made, loaded once per
// version of the tenant's policy (a change to an agent's roles or state
// invalidates it). An agent gone counts as disabled.
func (a *Authorizer) creatorOf(ctx context.Context, tp *tenantPolicy, agentID string) (creator, error) {
	tp.mu.Lock()
	c, ok := tp.creators[agentID]
	tp.mu.Unlock()
	if ok {
		return c, nil
	}
	ag, err := a.client.Agent.Query().Where(agent.ID(agentID)).
		Select(agent.FieldRoles, agent.FieldDisabledAt).
		Only(viewer.System(context.WithoutCancel(ctx), tp.tenantID))
	switch {
	case ent.IsNotFound(err):
		c = creator{disabled: true}
	case err != nil:
		return c, fmt.Errorf("API key creator %s: %w", agentID, err)
	default:
		c = creator{roles: ag.Roles, disabled: ag.DisabledAt != nil}
	}
	tp.mu.Lock()
	tp.creators[agentID] = c
	tp.mu.Unlock()
	return c, nil
}

// bounded returns (and remembers) the decisions of keyRoles limited to what
// creatorRoles may do.
func (tp *tenantPolicy) bounded(keyRoles, creatorRoles []string) (*Decisions, error) {
	kd, err := tp.decide(keyRoles)
	if err != nil {
		return nil, err
	}
	cd, err := tp.decide(creatorRoles)
	if err != nil {
		return nil, err
	}
	key := "bounded:" + strings.Join(slices.Sorted(slices.Values(keyRoles)), "\x00") + "|" + strings.Join(slices.Sorted(slices.Values(creatorRoles)), "\x00")
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if d, ok := tp.decisions[key]; ok {
		return d, nil
	}
	d := intersect(kd, cd)
	tp.decisions[key] = d
	return d, nil
}

// intersect is what both a and b may do: a switch both hold, each field at
// the stricter of the two effects.
func intersect(a, b *Decisions) *Decisions {
	d := &Decisions{perms: map[Permission]bool{}, fields: map[string]map[string]Effect{}}
	for p, ok := range a.perms {
		d.perms[p] = ok && b.perms[p]
	}
	for _, src := range []*Decisions{a, b} {
		for typ, byField := range src.fields {
			if d.fields[typ] == nil {
				d.fields[typ] = map[string]Effect{"*": max(a.Field(typ, "*"), b.Field(typ, "*"))}
			}
			for f := range byField {
				d.fields[typ][f] = max(a.Field(typ, f), b.Field(typ, f))
			}
		}
	}
	d.scope = scopeOf(d.perms)
	return d
}

func (a *Authorizer) tenant(ctx context.Context, tenantID string) (*tenantPolicy, error) {
	a.mu.Lock()
	tp, ok := a.tenants[tenantID]
	if !ok {
		tp = &tenantPolicy{tenantID: tenantID, decisions: map[string]*Decisions{}}
		a.tenants[tenantID] = tp
	}
	a.mu.Unlock()
	tp.load.Do(func() { tp.err = a.loadTenant(ctx, tp) })
	if tp.err != nil {
		a.Invalidate(tenantID) // let the next request try again
		return nil, tp.err
	}
	return tp, nil
}

func (a *Authorizer) loadTenant(ctx context.Context, tp *tenantPolicy) error {
	sctx := viewer.System(context.WithoutCancel(ctx), tp.tenantID)
	if err := SeedBuiltinRoles(sctx, a.client); err != nil {
		return err
	}
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return fmt.Errorf("casbin model: %w", err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return fmt.Errorf("casbin: %w", err)
	}
	e.SetAdapter(a.adapter)
	e.EnableAutoSave(false) // role-set groupings live in memory only
	if err := e.LoadFilteredPolicy(Filter{TenantID: tp.tenantID}); err != nil {
		return err
	}
	tp.enforcer = e
	rules, err := e.GetPolicy()
	if err != nil {
		return err
	}
	seen := map[Coordinate]bool{}
	for _, r := range rules {
		if c, ok := ParseCoordinate(r[2]); ok && r[3] != actUse && !seen[c] {
			seen[c] = true
			tp.overridden = append(tp.overridden, c)
		}
	}
	revoked, err := a.client.Agent.Query().
		Where(agent.TokensValidAfterNotNil()).
		Select(agent.FieldID, agent.FieldTokensValidAfter).
		All(sctx)
	if err != nil {
		return fmt.Errorf("load revocations: %w", err)
	}
	tp.validAfter = make(map[string]time.Time, len(revoked))
	for _, ag := range revoked {
		tp.validAfter[ag.ID] = *ag.TokensValidAfter
	}
	tp.creators = map[string]creator{}
	// Access tokens outlive a revoked session by at most their TTL; a day
	// covers every TTL the server accepts.
	ended, err := a.client.Session.Query().
		Where(session.RevokedAtGT(time.Now().Add(-MaxAccessTokenTTL))).
		IDs(sctx)
	if err != nil {
		return fmt.Errorf("load ended sessions: %w", err)
	}
	tp.revoked = make(map[string]bool, len(ended))
	for _, id := range ended {
		tp.revoked[id] = true
	}
	return nil
}

// creator is what an API key's rights are bounded by: its creator's roles
// as they are now, and whether they are disabled.
type creator struct {
	roles    []string
	disabled bool
}

// MaxAccessTokenTTL bounds the access token lifetime the server accepts, so
// that the sessions whose tokens must be refused are those ended within it.
const MaxAccessTokenTTL = 24 * time.Hour

// decide returns (and remembers) the decisions of a role set.
func (tp *tenantPolicy) decide(roles []string) (*Decisions, error) {
	roles = slices.Sorted(slices.Values(roles))
	key := strings.Join(roles, "\x00")
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if d, ok := tp.decisions[key]; ok {
		return d, nil
	}
	d, err := tp.compute(roles, "set:"+key)
	if err != nil {
		return nil, err
	}
	tp.decisions[key] = d
	return d, nil
}

// compute asks Casbin about every switch and every guarded field for a role
// set. Switches are asked of a subject that holds all the roles, so Casbin's
// deny-override applies across them. A field takes, per role, the role's own
// rule for the field, else its own rule for the whole type, else the default
// rule (FieldRules) from the role's switches; across roles an explicit DENY wins, otherwise the most
// permissive effect does.
func (tp *tenantPolicy) compute(roles []string, subject string) (*Decisions, error) {
	e, dom := tp.enforcer, tp.tenantID
	for _, r := range roles {
		if _, err := e.AddNamedGroupingPolicy("g", subject, r, dom); err != nil {
			return nil, err
		}
	}
	d := &Decisions{perms: map[Permission]bool{}, fields: map[string]map[string]Effect{}}
	for _, entry := range Catalog {
		ok, err := e.Enforce(subject, dom, string(entry.ID), actUse)
		if err != nil {
			return nil, err
		}
		d.perms[entry.ID] = ok
	}
	rolePerms := make(map[string]map[Permission]bool, len(roles))
	for _, r := range roles {
		rolePerms[r] = map[Permission]bool{}
		for _, entry := range Catalog {
			ok, err := e.Enforce(r, dom, string(entry.ID), actUse)
			if err != nil {
				return nil, err
			}
			rolePerms[r][entry.ID] = ok
		}
	}
	coords := slices.Collect(func(yield func(Coordinate) bool) {
		for c := range FieldRules {
			if !yield(c) {
				return
			}
		}
	})
	coords = append(coords, tp.overridden...)
	// Type-wide rules first: set keeps a field's ALLOW only against one.
	slices.SortStableFunc(coords, func(a, b Coordinate) int {
		return boolInt(b.Field == "*") - boolInt(a.Field == "*")
	})
	for _, c := range coords {
		eff, explicitDeny, err := tp.fieldEffect(c, roles, rolePerms)
		if err != nil {
			return nil, err
		}
		if explicitDeny {
			eff = Deny
		}
		d.set(c, eff)
	}
	for typ, p := range TypeSwitches {
		if !d.perms[p] {
			d.fields[typ] = map[string]Effect{"*": Deny}
		}
	}
	d.scope = scopeOf(d.perms)
	return d, nil
}

func scopeOf(perms map[Permission]bool) viewer.Scope {
	return viewer.Scope{
		AllConversations:      perms[ConversationReadAll],
		NumberConversations:   perms[ConversationReadNumber],
		AssignedConversations: perms[ConversationReadAssigned],
		Audit:                 perms[AuditView],
		Webhooks:              perms[WebhookManage],
		Exports:               perms[ConversationExport] && perms[ConversationReadAll],
	}
}

func (tp *tenantPolicy) fieldEffect(c Coordinate, roles []string, rolePerms map[string]map[Permission]bool) (best Effect, explicitDeny bool, err error) {
	best = Deny
	for _, r := range roles {
		eff, found, err := tp.ownRule(r, c)
		if !found && err == nil && c.Field != "*" {
			eff, found, err = tp.ownRule(r, Coordinate{Type: c.Type, Field: "*"})
		}
		switch {
		case err != nil:
			return Deny, false, err
		case found:
			explicitDeny = explicitDeny || eff == Deny
		default:
			eff = Allow
			if def, ok := defaultEffect(c, rolePerms[r]); ok {
				eff = def
			}
		}
		best = min(best, eff)
	}
	return best, explicitDeny, nil
}

// ownRule is the rule role r was given for c in this tenant, if any.
func (tp *tenantPolicy) ownRule(r string, c Coordinate) (eff Effect, found bool, err error) {
	e, dom := tp.enforcer, tp.tenantID
	explicit, err := e.GetFilteredPolicy(0, r, dom, c.String())
	if err != nil || len(explicit) == 0 {
		return Deny, false, err
	}
	read, err := e.Enforce(r, dom, c.String(), actRead)
	if err != nil {
		return Deny, false, err
	}
	mask, err := e.Enforce(r, dom, c.String(), actMask)
	if err != nil {
		return Deny, false, err
	}
	switch {
	case read:
		return Allow, true, nil
	case mask:
		return Mask, true, nil
	default:
		return Deny, true, nil
	}
}

// Decisions is what one role set may do in one tenant, as of one version of
// its policy. It is immutable and shared by every request of that role set.
type Decisions struct {
	perms map[Permission]bool
	// fields holds, by type then field ("*" for the whole type), the fields
	// that are not simply allowed: most types have none, and the field guard
	// answers them with one map lookup.
	fields map[string]map[string]Effect
	scope  viewer.Scope
}

// set records a field's effect; a type-wide ALLOW is kept so that it can
// override a stricter default, a field's ALLOW only when its type has a
// type-wide rule to override.
func (d *Decisions) set(c Coordinate, eff Effect) {
	byField := d.fields[c.Type]
	if eff == Allow && c.Field != "*" && byField["*"] == Allow {
		return
	}
	if byField == nil {
		byField = map[string]Effect{}
		d.fields[c.Type] = byField
	}
	byField[c.Field] = eff
}

// Can reports whether the role set holds permission p.
func (d *Decisions) Can(p Permission) bool { return d.perms[p] }

// Field returns the effect for field of typ: its own rule, else its type's
// ("Type.*"), else Allow.
func (d *Decisions) Field(typ, field string) Effect {
	byField := d.fields[typ]
	if byField == nil {
		return Allow
	}
	if eff, ok := byField[field]; ok {
		return eff
	}
	return byField["*"]
}

// Permissions lists the held permissions in catalogue order.
func (d *Decisions) Permissions() []Permission {
	var out []Permission
	for _, e := range Catalog {
		if d.perms[e.ID] {
			out = append(out, e.ID)
		}
	}
	return out
}

type ctxKey struct{}

// NewContext returns ctx carrying d.
func NewContext(ctx context.Context, d *Decisions) context.Context {
	return context.WithValue(ctx, ctxKey{}, d)
}

// FromContext returns the decisions of the request in ctx, or nil.
func FromContext(ctx context.Context) *Decisions {
	d, _ := ctx.Value(ctxKey{}).(*Decisions)
	return d
}

// Can reports whether the viewer of ctx holds p. The system viewer holds
// everything; a context without decisions holds nothing.
func Can(ctx context.Context, p Permission) bool {
	if v := viewer.FromContext(ctx); v != nil && v.Kind == viewer.KindSystem {
		return true
	}
	d := FromContext(ctx)
	return d != nil && d.Can(p)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
