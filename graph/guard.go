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
	schema *ast.Schema
}

func (g fieldGuard) guard(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	d := policy.FromContext(ctx)
	if len(fc.Args) > 0 {
		if err := checkArguments(fc); err != nil {
			return nil, err
		}
		if d != nil {
			if err := g.checkFilters(ctx, fc, d); err != nil {
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
	"NumberConnection!":     func() any { return &ent.NumberConnection{} },
	"AgentConnection!":      func() any { return &ent.AgentConnection{} },
	"TeamConnection!":       func() any { return &ent.TeamConnection{} },
	"ContactConnection!":    func() any { return &ent.ContactConnection{} },
	"GroupConnection!":      func() any { return &ent.GroupConnection{} },
	"AuditEventConnection!": func() any { return &ent.AuditEventConnection{} },
	"[Role!]!":              func() any { return []*ent.Role{} },
	"[AgentLoad!]!":         func() any { return []*model.AgentLoad{} },
	"AuditChainReport!":     func() any { return &model.AuditChainReport{} },
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

// checkFilters refuses a where or orderBy that uses a field the viewer may not
// read in the clear: filtering contacts by phone would otherwise reveal what
// the mask hides.
func (g fieldGuard) checkFilters(ctx context.Context, fc *graphql.FieldContext, d *policy.Decisions) error {
	vars := graphql.GetOperationContext(ctx).Variables
	for _, arg := range fc.Field.Arguments {
		def := fc.Field.Definition.Arguments.ForName(arg.Name)
		if def == nil {
			continue
		}
		typeName := def.Type.Name()
		val, err := arg.Value.Value(vars)
		if err != nil || val == nil {
			continue
		}
		switch {
		case strings.HasSuffix(typeName, "WhereInput"):
			if err := g.checkWhere(typeName, val, d); err != nil {
				return err
			}
		case strings.HasSuffix(typeName, "Order"):
			obj := strings.TrimSuffix(typeName, "Order")
			if m, ok := val.(map[string]any); ok {
				if f, ok := m["field"].(string); ok && d.Field(obj, enumToField(f)) != policy.Allow {
					return apperr.New(apperr.Forbidden, "your role may not order by %s.%s", obj, enumToField(f))
				}
			}
		}
	}
	return nil
}

func (g fieldGuard) checkWhere(inputType string, val any, d *policy.Decisions) error {
	switch v := val.(type) {
	case []any:
		for _, item := range v {
			if err := g.checkWhere(inputType, item, d); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		def := g.schema.Types[inputType]
		obj := g.schema.Types[strings.TrimSuffix(inputType, "WhereInput")]
		if def == nil || obj == nil {
			return nil
		}
		for key, sub := range v {
			f := def.Fields.ForName(key)
			if f == nil {
				continue
			}
			if nested := f.Type.Name(); strings.HasSuffix(nested, "WhereInput") {
				if err := g.checkWhere(nested, sub, d); err != nil {
					return err
				}
				continue
			}
			field := predicateField(key, obj)
			if field != "" && d.Field(obj.Name, field) != policy.Allow {
				return apperr.New(apperr.Forbidden, "your role may not filter on %s.%s", obj.Name, field)
			}
		}
	}
	return nil
}

// predicateSuffixes end entgql's where-input fields: phoneNEQ, phoneIn, …
var predicateSuffixes = []string{"NEQ", "NotIn", "In", "GTE", "GT", "LTE", "LT", "ContainsFold", "Contains",
	"HasPrefix", "HasSuffix", "EqualFold", "IsNil", "NotNil"}

// predicateField returns the object field a where-input key filters on.
func predicateField(key string, obj *ast.Definition) string {
	if obj.Fields.ForName(key) != nil {
		return key
	}
	for _, s := range predicateSuffixes {
		if base, ok := strings.CutSuffix(key, s); ok && obj.Fields.ForName(base) != nil {
			return base
		}
	}
	return ""
}

// enumToField turns an order field enum value into its field: PROFILE_NAME →
// profileName.
func enumToField(s string) string {
	parts := strings.Split(strings.ToLower(s), "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
