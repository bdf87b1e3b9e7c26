package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/graph/model"
	"github.com/switchboard-dev/switchboard/policy"
)

// fieldGuard is the one guard every field of every operation passes (queries,
// mutation payloads, and subscription events alike), keyed by its schema
// coordinate: it checks the field's arguments, then applies the viewer's
// decision for the field: ALLOW resolves it, DENY answers null with a
// FORBIDDEN error at its path, MASK resolves it and redacts the value.
//
// Decisions come precomputed per role set (policy.Decisions), so a field
// costs two map lookups. Without decisions in the context the caller is
// anonymous, which the root guard confines to login, refresh and
// introspection, whose payloads are the caller's own.
type fieldGuard struct {
	filters filterSchema
}

func (g fieldGuard) guard(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	d := policy.FromContext(ctx)
	if len(fc.Args) > 0 {
		if err := checkArguments(fc); err != nil {
			return nil, err
		}
		if d != nil {
			if err := g.filters.check(ctx, fc, d); err != nil {
				return nil, err
			}
		}
	}
	if d == nil {
		return next(ctx)
	}
	switch d.Field(fc.Object, fc.Field.Name) {
	case policy.Allow:
		return next(ctx)
	case policy.Mask:
		v, err := next(ctx)
		if err != nil {
			return nil, err
		}
		return mask(policy.Coordinate{Type: fc.Object, Field: fc.Field.Name}, v)
	default:
		err := forbiddenField(fc.Object, fc.Field.Name)
		if empty, ok := emptyValues[fc.Field.Definition.Type.String()]; ok {
			// A non-null list denied as null would null the whole response:
			// it answers empty, with the error at its path.
			graphql.AddError(ctx, err)
			return empty(), nil
		}
		return nil, err
	}
}

// emptyValues are what a denied non-null field answers, by its schema type.
var emptyValues = map[string]func() any{
	"NumberConnection!":            func() any { return &ent.NumberConnection{} },
	"AgentConnection!":             func() any { return &ent.AgentConnection{} },
	"TeamConnection!":              func() any { return &ent.TeamConnection{} },
	"ContactConnection!":           func() any { return &ent.ContactConnection{} },
	"GroupConnection!":             func() any { return &ent.GroupConnection{} },
	"AuditEventConnection!":        func() any { return &ent.AuditEventConnection{} },
	"RoutingRunConnection!":        func() any { return &ent.RoutingRunConnection{} },
	"WebhookEndpointConnection!":   func() any { return &ent.WebhookEndpointConnection{} },
	"OutboundDeliveryConnection!":  func() any { return &ent.OutboundDeliveryConnection{} },
	"GroupWebhookEventConnection!": func() any { return &ent.GroupWebhookEventConnection{} },
	"[InboundDelivery!]!":          func() any { return []*model.InboundDelivery{} },
	"[Role!]!":                     func() any { return []*ent.Role{} },
	"[AgentLoad!]!":                func() any { return []*model.AgentLoad{} },
	"AuditChainReport!":            func() any { return &model.AuditChainReport{} },
}

func forbiddenField(typ, field string) error {
	return apperr.New(apperr.Forbidden, "your role may not read %s.%s", typ, field)
}

// mask redacts a string value; a value that cannot be redacted is denied.
func mask(c policy.Coordinate, v any) (any, error) {
	switch s := v.(type) {
	case string:
		return policy.Redact(c, s), nil
	case *string:
		if s == nil {
			return s, nil
		}
		r := policy.Redact(c, *s)
		return &r, nil
	}
	return nil, forbiddenField(c.Type, c.Field)
}
