// Package viewer carries who is asking through a context: an agent signed in
// with a token, a partner API key, or the system acting for one tenant
// (background jobs, the demo seeder). Every tenant-scoped read and write is
// filtered by the viewer's tenant (see ent/schema/tenancy.go).
package viewer

import "context"

// Kind says how the viewer authenticated.
type Kind int

const (
	// KindAgent is an employee signed in with an access token.
	KindAgent Kind = iota + 1
	// KindAPIKey is a partner integration using an API key.
	KindAPIKey
	// KindSystem is the server itself acting inside one tenant.
	KindSystem
)

// Viewer is the authenticated caller of a request or job.
type Viewer struct {
	Kind      Kind
	TenantID  string
	AgentID   string // KindAgent only
	APIKeyID  string // KindAPIKey only
	SessionID string // KindAgent only: the refresh session the token belongs to
	Roles     []string
}

type ctxKey struct{}

// NewContext returns ctx carrying v.
func NewContext(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, ctxKey{}, v)
}

// FromContext returns the viewer of ctx, or nil for an anonymous caller.
func FromContext(ctx context.Context) *Viewer {
	v, _ := ctx.Value(ctxKey{}).(*Viewer)
	return v
}

// System returns a context in which the server acts for tenantID with every
// role. Use it for background work, never for a request.
func System(ctx context.Context, tenantID string) context.Context {
	return NewContext(ctx, &Viewer{Kind: KindSystem, TenantID: tenantID, Roles: []string{"owner"}})
}

// HasRole reports whether the viewer holds role.
func (v *Viewer) HasRole(role string) bool {
	for _, r := range v.Roles {
		if r == role {
			return true
		}
	}
	return false
}
