// Package graph is the GraphQL API: the SDL in schema/, thin resolvers that
// call ent or a domain service, and the HTTP handler with its limits
// (handler.go), the mutation guard (permission.go) and error codes (errors.go).
package graph

import (
	"log/slog"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/contact"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/group"
	"github.com/switchboard-dev/switchboard/inbox"
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

// NewResolver wires the services over client; they publish their changes on
// bus, which the subscriptions read.
func NewResolver(client *ent.Client, authService *auth.Service, authz *policy.Authorizer, bus realtime.Bus, presence *presence.Tracker) *Resolver {
	pub := realtime.NewPublisher(bus, slog.Default())
	return &Resolver{
		client:   client,
		auth:     authService,
		authz:    authz,
		bus:      bus,
		presence: presence,
		roles:    role.NewService(client, authz, pub),
		agents:   agent.NewService(client, authz, pub),
		contacts: contact.NewService(client),
		numbers:  number.NewService(client, pub),
		inbox:    inbox.NewService(client, pub),
		groups:   group.NewService(client, pub),
	}
}
