package graph

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph/generated"
	"github.com/switchboard-dev/switchboard/policy"
)

// TestEveryMutationDeclaresAPermission walks the schema: a mutation without
// an entry in `mutations` would be refused at run time, and a permission
// outside the catalogue could never be granted.
func TestEveryMutationDeclaresAPermission(t *testing.T) {
	t.Parallel()
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	names := map[string]bool{}
	for _, f := range schema.Mutation.Fields {
		names[f.Name] = true
		rule, ok := mutations[f.Name]
		require.True(t, ok, "mutation %s declares no permission in graph/permission.go", f.Name)
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
