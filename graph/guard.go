package graph

import (
	"context"

	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

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
	// gates are the fields that lead to a type readable only with a switch
	// (policy.TypeSwitches): an edge, a list, a connection. Without the
	// switch the field is denied, so no path reaches the type.
	gates map[fieldKey]policy.Permission
}

type fieldKey struct{ object, field string }

// typeGates finds, in schema, every field of an object type (the root
// mutation's payloads aside: their permission is the mutation's) whose
// value is, or is a connection of, a type of policy.TypeSwitches.
func typeGates(schema *ast.Schema) map[fieldKey]policy.Permission {
	gates := map[fieldKey]policy.Permission{}
	for name, def := range schema.Types {
		if def.Kind != ast.Object || name == "Mutation" {
			continue
		}
		for _, f := range def.Fields {
			target := strings.TrimSuffix(f.Type.Name(), "Connection")
			if p, ok := policy.TypeSwitches[target]; ok {
				gates[fieldKey{name, f.Name}] = p
			}
		}
	}
	return gates
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
	if p, ok := g.gates[fieldKey{fc.Object, fc.Field.Name}]; ok && !d.Can(p) {
		return deny(ctx, fc)
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
		return deny(ctx, fc)
	}
}

// deny answers a field the viewer may not read: null with a FORBIDDEN error.
func deny(ctx context.Context, fc *graphql.FieldContext) (any, error) {
	err := forbiddenField(fc.Object, fc.Field.Name)
	if empty, ok := emptyValues[fc.Field.Definition.Type.String()]; ok {
		// A non-null list denied as null would null the whole response:
		// it answers empty, with the error at its path.
		graphql.AddError(ctx, err)
		return empty(), nil
	}
	return nil, err
}

// emptyValues are what a denied non-null field answers, by its schema type.
var emptyValues = map[string]func() any{
	"NumberConnection!":            func() any { return &ent.NumberConnection{} },
	"AgentConnection!":             func() any { return &ent.AgentConnection{} },
	"TeamConnection!":              func() any { return &ent.TeamConnection{} },
	"ContactConnection!":           func() any { return &ent.ContactConnection{} },
	"GroupConnection!":             func() any { return &ent.GroupConnection{} },
	"GroupMemberConnection!":       func() any { return &ent.GroupMemberConnection{} },
	"GroupJoinRequestConnection!":  func() any { return &ent.GroupJoinRequestConnection{} },
	"AuditEventConnection!":        func() any { return &ent.AuditEventConnection{} },
	"RoutingRunConnection!":        func() any { return &ent.RoutingRunConnection{} },
	"AutomationRuleConnection!":    func() any { return &ent.AutomationRuleConnection{} },
	"AutomationRunConnection!":     func() any { return &ent.AutomationRunConnection{} },
	"WebhookEndpointConnection!":   func() any { return &ent.WebhookEndpointConnection{} },
	"OutboundDeliveryConnection!":  func() any { return &ent.OutboundDeliveryConnection{} },
	"GroupWebhookEventConnection!": func() any { return &ent.GroupWebhookEventConnection{} },
	"[InboundDelivery!]!":          func() any { return []*model.InboundDelivery{} },
	"[Role!]!":                     func() any { return []*ent.Role{} },
	"[MessageRate!]!":              func() any { return []*ent.MessageRate{} },
	"[AgentLoad!]!":                func() any { return []*model.AgentLoad{} },
	"AuditChainReport!":            func() any { return &model.AuditChainReport{} },
	"BroadcastConnection!":         func() any { return &ent.BroadcastConnection{} },
	"MessageTemplateConnection!":   func() any { return &ent.MessageTemplateConnection{} },
	"BroadcastStats!":              func() any { return &model.BroadcastStats{} },
	"BroadcastPolicy!":             func() any { return &model.BroadcastPolicy{} },
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
