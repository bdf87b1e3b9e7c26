// Package viewer carries who is asking through a context: an agent signed in
// with a token, a partner API key, or the system acting for one tenant
// (background jobs, the demo seeder). Every tenant-scoped read and write is
// filtered by the viewer's tenant (see ent/schema/tenancy.go).
package viewer

import (
	"context"
	"time"
)

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
	// IssuedAt is when the viewer's access token was issued (KindAgent only),
	// to refuse tokens issued before a revocation.
	IssuedAt time.Time
	// ExpiresAt is when the credential stops working (zero: never): live
	// connections opened with it close then.
	ExpiresAt time.Time
	// KeyCreatorID is the agent who made the API key (KindAPIKey only):
	// disabling them closes the key's live connections.
	KeyCreatorID string
	// Scope says which rows the viewer may read; policy fills it from the
	// viewer's switches when the request is admitted.
	Scope Scope
}

// Scope is which conversations (and with them messages and contacts) and
// which records a viewer may see. The zero Scope sees no conversation.
type Scope struct {
	AllConversations      bool // conversation.read.all
	NumberConversations   bool // conversation.read.number: those on the viewer's numbers
	AssignedConversations bool // conversation.read.assigned: those assigned to the viewer
	Audit                 bool // audit.view
	Webhooks              bool // webhook.manage: outbound webhooks and their delivery log
	Exports               bool // conversation.export with conversation.read.all: every export job, not only one's own
	// NumbersPinned: NumberConversations covers exactly Numbers (sorted),
	// the viewer's numbers as read when a live connection was admitted,
	// rather than their membership as it is at each query. Subscribers on
	// the same numbers then see the same rows and share one execution; the
	// gateway re-admits a connection when its agent's numbers change.
	NumbersPinned bool
	Numbers       []string
}

// Everything is the scope of the system viewer.
var Everything = Scope{AllConversations: true, NumberConversations: true, AssignedConversations: true, Audit: true, Webhooks: true, Exports: true}

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
	return NewContext(ctx, &Viewer{Kind: KindSystem, TenantID: tenantID, Roles: []string{"owner"}, Scope: Everything})
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
