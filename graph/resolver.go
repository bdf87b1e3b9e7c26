// Package graph is the GraphQL API: the SDL in schema/, thin resolvers that
// call ent or a domain service, and the HTTP handler with its limits
// (handler.go), the mutation guard (permission.go) and error codes (errors.go).
package graph

import (
	"log/slog"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/contact"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/group"
	"github.com/switchboard-dev/switchboard/inbox"
	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/number"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/presence"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/role"
)

// Resolver holds what resolvers need: the ent client for reads and the
// domain services for writes.
type Resolver struct {
	client   *ent.Client
	auth     *auth.Service
	authz    *policy.Authorizer
	bus      realtime.Bus
	presence *presence.Tracker
	roles    *role.Service
	agents   *agent.Service
	contacts *contact.Service
	numbers  *number.Service
	inbox    *inbox.Service
	groups   *group.Service
}

// Deps are what the API runs on.
type Deps struct {
	Client   *ent.Client
	Auth     *auth.Service
	Authz    *policy.Authorizer
	Bus      realtime.Bus      // live events: services publish, subscriptions read
	Presence *presence.Tracker // nil: presence is not tracked
	Jobs     *job.Client       // sends queued messages; nil leaves them QUEUED
	Box      *credential.Box   // seals numbers' credentials
}

// NewResolver wires the services.
func NewResolver(d Deps) *Resolver {
	pub := realtime.NewPublisher(d.Bus, slog.Default())
	return &Resolver{
		client:   d.Client,
		auth:     d.Auth,
		authz:    d.Authz,
		bus:      d.Bus,
		presence: d.Presence,
		roles:    role.NewService(d.Client, d.Authz, pub),
		agents:   agent.NewService(d.Client, d.Authz, pub),
		contacts: contact.NewService(d.Client),
		numbers:  number.NewService(d.Client, pub, d.Box),
		inbox:    inbox.NewService(d.Client, pub, d.Jobs),
		groups:   group.NewService(d.Client, pub),
	}
}
