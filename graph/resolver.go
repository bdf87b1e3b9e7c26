// Package graph is the GraphQL API: the SDL in schema/, thin resolvers that
// call ent or a domain service, and the HTTP handler with its limits
// (handler.go), the mutation guard (permission.go) and error codes (errors.go).
package graph

import (
	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/automation"
	"github.com/switchboard-dev/switchboard/broadcast"
	"github.com/switchboard-dev/switchboard/contact"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/export"
	"github.com/switchboard-dev/switchboard/group"
	"github.com/switchboard-dev/switchboard/inbox"
	"github.com/switchboard-dev/switchboard/number"
	"github.com/switchboard-dev/switchboard/outhook"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/presence"
	"github.com/switchboard-dev/switchboard/pricing"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/report"
	"github.com/switchboard-dev/switchboard/role"
	"github.com/switchboard-dev/switchboard/routing"
	"github.com/switchboard-dev/switchboard/segment"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// Resolver holds what resolvers need: the ent client for reads and the
// domain services for writes.
type Resolver struct {
	client   *ent.Client
	auth     *auth.Service
	authz    *policy.Authorizer
	bus      realtime.Bus
	presence *presence.Tracker
	looking  *presence.Looking
	roles    *role.Service
	agents   *agent.Service
	contacts *contact.Service
	numbers  *number.Service
	inbox    *inbox.Service
	groups   *group.Service
	routing  *routing.Service
	rules    *automation.Service
	webhooks *outhook.Service
	delivs   *connector.Deliveries
	typing   *connector.Typing
	// rows: the conversations of live events, read once per event.
	rows *eventRows
	// dashboards: one dashboard computation per tick for all who see the same.
	dashboards *dashboards
	pricing    *pricing.Service
	reports    *report.Service
	segments   *segment.Service
	casts      *broadcast.Service
	exports    *export.Jobs
	tmpls      *broadcast.Templates
}

// Services are what the API runs on; package app builds them once.
type Services struct {
	Client   *ent.Client
	Auth     *auth.Service
	Authz    *policy.Authorizer
	Bus      realtime.Bus      // live events: services publish, subscriptions read
	Presence *presence.Tracker // nil: presence is not tracked
	// Looking tells who looks at a conversation (nil: conversationViewers
	// and typingInConversation answer INTERNAL).
	Looking  *presence.Looking
	Roles    *role.Service
	Agents   *agent.Service
	Contacts *contact.Service
	Numbers  *number.Service
	Inbox    *inbox.Service
	Groups   *group.Service
	Routing  *routing.Service
	// Automation keeps and runs the tenant's rules.
	Automation *automation.Service
	Webhooks   *outhook.Service // outbound webhooks: endpoints and their delivery log
	// Deliveries lists and replays the provider's stored webhooks.
	Deliveries *connector.Deliveries
	// Typing shows customers an agent's typing indicator.
	Typing *connector.Typing
	// Pricing keeps the rate card and computes messaging costs.
	Pricing *pricing.Service
	// Reports answer reports and the dashboard's figures of the day.
	Reports *report.Service
	// Segments keep saved contact filters and resolve them.
	Segments *segment.Service
	// Broadcasts keeps broadcasts, their plans, policy and outcomes;
	// Templates syncs the provider's message templates.
	Broadcasts *broadcast.Service
	Templates  *broadcast.Templates
	// Exports runs conversation exports as jobs and signs their links.
	Exports *export.Jobs
}

// NewResolver returns the root resolver over s.
func NewResolver(s Services) *Resolver {
	return &Resolver{
		client:     s.Client,
		auth:       s.Auth,
		authz:      s.Authz,
		bus:        s.Bus,
		presence:   s.Presence,
		looking:    s.Looking,
		roles:      s.Roles,
		agents:     s.Agents,
		contacts:   s.Contacts,
		numbers:    s.Numbers,
		inbox:      s.Inbox,
		groups:     s.Groups,
		routing:    s.Routing,
		rules:      s.Automation,
		webhooks:   s.Webhooks,
		delivs:     s.Deliveries,
		typing:     s.Typing,
		rows:       newEventRows(),
		dashboards: newDashboards(),
		pricing:    s.Pricing,
		reports:    s.Reports,
		segments:   s.Segments,
		casts:      s.Broadcasts,
		exports:    s.Exports,
		tmpls:      s.Templates,
	}
}

// stringOr is *s, or "" when s is nil.
func stringOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
