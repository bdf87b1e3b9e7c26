package graph

import (
	"context"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/graph/generated"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/viewer"
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

// checkFieldRuleGrantable refuses a field rule that would let a role read
// more than the viewer reads (for Type.*, any field of the type): field
// rules, like switches, never grant what their author does not hold. eff is
// the rule's effect; clearing a rule is checked as ALLOW, since the default
// it returns to may be.
func checkFieldRuleGrantable(ctx context.Context, c policy.Coordinate, eff policy.Effect) error {
	if v := viewer.FromContext(ctx); v != nil && v.Kind == viewer.KindSystem {
		return nil
	}
	d := policy.FromContext(ctx)
	if d == nil {
		return apperr.New(apperr.Forbidden, "no decisions to grant from")
	}
	fields := []string{c.Field}
	if c.Field == "*" {
		fields = fields[:0]
		for _, f := range generated.NewExecutableSchema(generated.Config{}).Schema().Types[c.Type].Fields {
			fields = append(fields, f.Name)
		}
	}
	for _, f := range fields {
		if own := d.Field(c.Type, f); own > eff {
			return apperr.New(apperr.Forbidden, "you cannot give %s.%s %s: you see it %s", c.Type, f, eff, own)
		}
	}
	return nil
}

// tombstoneVisible: a message's field shows unless the message is deleted
// and the viewer lacks the switch policy.Tombstoned asks for it. A tombstone
// is the normal view of a deleted message, so hiding it is not an error.
func tombstoneVisible(ctx context.Context, m *ent.Message, field string) bool {
	p, ok := policy.Tombstoned[policy.Coordinate{Type: "Message", Field: field}]
	return m.DeletedAt == nil || !ok || policy.Can(ctx, p)
}
