package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/policy"
)

// Filters (where and orderBy arguments) may only use what the viewer reads
// in the clear: filtering contacts by a masked phone, or counting messages
// whose deleted text contains a word, would otherwise reveal what the field
// guard hides. The check uses the guard's own decisions (policy.Decisions),
// so a field rule set at runtime covers filters at once, at every depth.

// filterKey is what one key of a where input filters on: a field of the
// object, or an edge to another object type.
type filterKey struct {
	field  string // the object's field, or its edge
	target string // for an edge, the object type it leads to
}

// filterSchema knows, per where input, what each key filters on. entgql
// heads each group of predicates with "<ent_field> field predicates" or
// "<ent_edge> edge predicates"; a key outside any group (not, and, or) is
// absent, and so is any key a future generator adds without a group: it is
// refused until it maps to a field.
type filterSchema struct {
	schema *ast.Schema
	keys   map[string]map[string]filterKey // where input → key → what it filters
}

func newFilterSchema(schema *ast.Schema) filterSchema {
	fs := filterSchema{schema: schema, keys: map[string]map[string]filterKey{}}
	for name, def := range schema.Types {
		obj := fs.filteredObject(name, "WhereInput")
		if obj == nil {
			continue
		}
		keys := map[string]filterKey{}
		var current filterKey
		for _, f := range def.Fields {
			if d := strings.TrimSpace(f.Description); d != "" {
				current = fs.groupOf(obj, d)
			}
			if current.field != "" && !logicalKeys[f.Name] {
				keys[f.Name] = current
			}
		}
		fs.keys[name] = keys
	}
	return fs
}

var logicalKeys = map[string]bool{"not": true, "and": true, "or": true}

// groupOf reads a predicate group's heading into what it filters on.
func (fs filterSchema) groupOf(obj *ast.Definition, heading string) filterKey {
	entName, kind, ok := strings.Cut(heading, " ")
	if !ok {
		return filterKey{}
	}
	f := fieldNamed(obj, entName)
	switch {
	case f == nil:
		return filterKey{}
	case kind == "field predicates":
		return filterKey{field: f.Name}
	case kind == "edge predicates":
		return filterKey{field: f.Name, target: fs.nodeType(f.Type.Name())}
	}
	return filterKey{}
}

// nodeType is the object a field of type typ leads to: itself, or for a
// connection the type of its nodes.
func (fs filterSchema) nodeType(typ string) string {
	def := fs.schema.Types[typ]
	if def == nil || !strings.HasSuffix(typ, "Connection") {
		return typ
	}
	if edges := def.Fields.ForName("edges"); edges != nil {
		if node := fs.schema.Types[edges.Type.Name()].Fields.ForName("node"); node != nil {
			return node.Type.Name()
		}
	}
	return typ
}

// filteredObject returns the object type an input named <Object><suffix>
// filters or orders, or nil.
func (fs filterSchema) filteredObject(inputType, suffix string) *ast.Definition {
	name, ok := strings.CutSuffix(inputType, suffix)
	if in := fs.schema.Types[inputType]; !ok || in == nil || in.Kind != ast.InputObject {
		return nil
	}
	if obj := fs.schema.Types[name]; obj != nil && obj.Kind == ast.Object {
		return obj
	}
	return nil
}

// check refuses the field's where and orderBy arguments when they use
// anything d does not let the viewer read in the clear.
func (fs filterSchema) check(ctx context.Context, fc *graphql.FieldContext, d *policy.Decisions) error {
	vars := graphql.GetOperationContext(ctx).Variables
	for _, arg := range fc.Field.Arguments {
		def := fc.Field.Definition.Arguments.ForName(arg.Name)
		if def == nil {
			continue
		}
		val, err := arg.Value.Value(vars)
		if err != nil || val == nil {
			continue
		}
		typeName := def.Type.Name()
		if _, ok := fs.keys[typeName]; ok {
			if err := fs.checkWhere(typeName, val, d); err != nil {
				return err
			}
		} else if obj := fs.filteredObject(typeName, "Order"); obj != nil {
			if err := checkOrder(obj, val, d); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkOrder(obj *ast.Definition, val any, d *policy.Decisions) error {
	switch v := val.(type) {
	case []any:
		for _, item := range v {
			if err := checkOrder(obj, item, d); err != nil {
				return err
			}
		}
	case map[string]any:
		enum, _ := v["field"].(string)
		f := fieldNamed(obj, enum)
		if f == nil {
			return apperr.New(apperr.Forbidden, "your role may not order by %s", enum)
		}
		if d.Field(obj.Name, f.Name) != policy.Allow {
			return apperr.New(apperr.Forbidden, "your role may not order by %s.%s", obj.Name, f.Name)
		}
	}
	return nil
}

func (fs filterSchema) checkWhere(inputType string, val any, d *policy.Decisions) error {
	switch v := val.(type) {
	case []any:
		for _, item := range v {
			if err := fs.checkWhere(inputType, item, d); err != nil {
				return err
			}
		}
	case map[string]any:
		obj := fs.filteredObject(inputType, "WhereInput")
		def := fs.schema.Types[inputType]
		for key, sub := range v {
			if err := fs.checkKey(obj, inputType, key, v, d); err != nil {
				return err
			}
			if f := def.Fields.ForName(key); f != nil {
				if _, nested := fs.keys[f.Type.Name()]; nested {
					if err := fs.checkWhere(f.Type.Name(), sub, d); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// checkKey checks one key of a where input on obj; level is the input
// object the key is in.
func (fs filterSchema) checkKey(obj *ast.Definition, inputType, key string, level map[string]any, d *policy.Decisions) error {
	if logicalKeys[key] {
		return nil
	}
	k, ok := fs.keys[inputType][key]
	switch {
	case !ok:
		return apperr.New(apperr.Forbidden, "%s.%s filters on nothing the API shows", inputType, key)
	case d.Field(obj.Name, k.field) != policy.Allow:
		return apperr.New(apperr.Forbidden, "your role may not filter on %s.%s", obj.Name, k.field)
	case k.target != "" && d.Field(k.target, "id") != policy.Allow:
		return apperr.New(apperr.Forbidden, "your role may not filter on %s.%s: it may not read %s", obj.Name, k.field, k.target)
	case d.TombstoneHidden(obj.Name, k.field) && level[tombstonesOut] != true:
		return apperr.New(apperr.Forbidden,
			"your role may not filter on %s.%s of deleted rows: add %s: true beside it", obj.Name, k.field, tombstonesOut)
	}
	return nil
}

// tombstonesOut is the where key that keeps deleted rows out of a filter.
const tombstonesOut = "deletedAtIsNil"

// fieldNamed finds obj's field an ent name (snake_case, or an order
// enum's SCREAMING_CASE) stands for: wa_id and WA_ID are waID.
func fieldNamed(obj *ast.Definition, entName string) *ast.FieldDefinition {
	want := strings.ReplaceAll(entName, "_", "")
	for _, f := range obj.Fields {
		if strings.EqualFold(f.Name, want) {
			return f
		}
	}
	return nil
}
