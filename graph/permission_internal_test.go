package graph

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph/generated"
	"github.com/switchboard-dev/switchboard/policy"
)

// TestEveryMutationDeclaresPermissionAndAudit walks the schema: a mutation
// without an entry in `mutations` would be refused at run time, a permission
// outside the catalogue could never be granted, and every mutation says
// either which audit action it records or why it records none.
func TestEveryMutationDeclaresPermissionAndAudit(t *testing.T) {
	t.Parallel()
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	names := map[string]bool{}
	for _, f := range schema.Mutation.Fields {
		names[f.Name] = true
		rule, ok := mutations[f.Name]
		require.True(t, ok, "mutation %s declares no permission in graph/permission.go", f.Name)
		switch {
		case rule.audit == "" && rule.noAudit == "":
			t.Errorf("mutation %s declares no audit in graph/permission.go: name its audit action, or say in noAudit why it records none", f.Name)
		case rule.audit != "" && rule.noAudit != "":
			t.Errorf("mutation %s declares both an audit action and a reason for none", f.Name)
		case rule.audit != "" && !auditAction.MatchString(rule.audit):
			t.Errorf("mutation %s: audit action %q is not of the form thing.verb", f.Name, rule.audit)
		}
		if rule.anonymous || rule.perm == authenticatedOnly {
			continue
		}
		require.True(t, policy.Known(rule.perm), "mutation %s needs %q, which is not in the catalogue", f.Name, rule.perm)
		if arg := f.Arguments.ForName("id"); arg != nil {
			require.NotEmpty(t, rule.id, "mutation %s takes an id: declare its type prefix", f.Name)
		}
	}
	for name := range mutations {
		require.True(t, names[name], "graph/permission.go declares %s, which the schema does not have", name)
	}
}

var auditAction = regexp.MustCompile(`^[a-z]+\.[a-z_]+$`)

// TestSensitiveFieldsHaveRules walks the schema: every field of a sensitive
// type must have its own rule (a new field forces a decision), every rule must
// name a field that exists, and a field whose rule can deny or mask must be
// nullable, or denying it would null its parent.
func TestSensitiveFieldsHaveRules(t *testing.T) {
	t.Parallel()
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	for _, typ := range policy.SensitiveTypes {
		def := schema.Types[typ]
		require.NotNil(t, def, typ)
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			_, ok := policy.FieldRules[policy.Coordinate{Type: typ, Field: f.Name}]
			require.True(t, ok, "%s.%s has no rule in policy/field.go: decide who may read it", typ, f.Name)
		}
	}
	for c, rule := range policy.FieldRules {
		def := schema.Types[c.Type]
		require.NotNil(t, def, "rule for unknown type %s", c)
		if c.Field == "*" {
			continue
		}
		f := def.Fields.ForName(c.Field)
		require.NotNil(t, f, "rule for unknown field %s", c)
		if rule.Needs != "" {
			_, empty := emptyValues[f.Type.String()]
			// a denied subscription answers one error and completes: its
			// root may stay non-null
			rootOfSubscription := c.Type == "Subscription" && rule.Otherwise == policy.Deny
			// a masked string is still a string: the mask never nulls it
			maskedString := rule.Otherwise == policy.Mask && f.Type.Elem == nil && f.Type.NamedType == "String"
			require.True(t, rootOfSubscription || maskedString || !f.Type.NonNull || (empty && rule.Otherwise == policy.Deny),
				"%s can be denied or masked, so it must be nullable (or a list with an empty value in graph/guard.go)", c)
			require.True(t, policy.Known(rule.Needs), "%s needs unknown permission %s", c, rule.Needs)
		}
	}
}
