package graph

import (
	"context"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/graph/generated"
	"github.com/switchboard-dev/switchboard/policy"
)

func permissions(ids []string) []policy.Permission {
	out := make([]policy.Permission, len(ids))
	for i, id := range ids {
		out[i] = policy.Permission(id)
	}
	return out
}

func permissionIDs(ps []policy.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// schemaCoordinate parses "Type.field" or "Type.*" and checks that the schema
// has that type and field, so that a rule never names nothing.
func schemaCoordinate(s string) (policy.Coordinate, error) {
	c, ok := policy.ParseCoordinate(s)
	if !ok {
		return c, apperr.Invalid("coordinate", "%q is not Type.field or Type.*", s)
	}
	def := generated.NewExecutableSchema(generated.Config{}).Schema().Types[c.Type]
	if def == nil || (def.Kind != "OBJECT") {
		return c, apperr.Invalid("coordinate", "the schema has no object type %s", c.Type)
	}
	if c.Field != "*" && def.Fields.ForName(c.Field) == nil {
		return c, apperr.Invalid("coordinate", "%s has no field %s", c.Type, c.Field)
	}
	return c, nil
}

// tombstoneVisible: a message's field shows unless the message is deleted
// and the viewer lacks the switch policy.Tombstoned asks for it. A tombstone
// is the normal view of a deleted message, so hiding it is not an error.
func tombstoneVisible(ctx context.Context, m *ent.Message, field string) bool {
	p, ok := policy.Tombstoned[policy.Coordinate{Type: "Message", Field: field}]
	return m.DeletedAt == nil || !ok || policy.Can(ctx, p)
}
