package graph_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/generated"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// A deleted message's text is null for a viewer without message.view_deleted;
// filtering on it must not count what it hides, at any depth.
func TestDeletedTextUnusableInFilters(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		secret, err := s.DB.Client.Message.Create().SetConversationID(w.conversation).SetNumberID(w.number).
			SetDirection(message.DirectionINBOUND).SetStatus(message.StatusRECEIVED).SetBody("my pin is 4921").
			Save(systemCtx(t, w))
		require.NoError(t, err)
		s.Do(t, w.token, `mutation($m: ID!) { deleteMessage(id: $m) { id } }`, map[string]any{"m": secret.ID}).RequireOK(t)
		agent := s.Login(t, "agent@alpha.test", graphtest.Password) // the agent role: no message.view_deleted

		refused := []struct{ name, query string }{
			{"root", `{ messages(where: {bodyContains: "4921"}) { totalCount } }`},
			{"prefix", `{ messages(where: {bodyHasPrefix: "my pin is 49"}) { totalCount } }`},
			{"inside or", `{ messages(where: {or: [{bodyGTE: "my pin is 5"}, {idIn: []}]}) { totalCount } }`},
			{"inside not", `{ messages(where: {not: {bodyContainsFold: "PIN"}}) { totalCount } }`},
			{"through an edge", `{ conversations(where: {hasMessagesWith: [{bodyContains: "4921"}]}) { totalCount } }`},
			{"two edges down", `{ contacts(where: {hasConversationsWith: [{hasLastMessageWith: [{body: "my pin is 4921"}]}]}) { totalCount } }`},
			{"nested list", `query($c: ID!) { node(id: $c) { ... on Conversation { messages(where: {bodyContains: "4921"}) { totalCount } } } }`},
			{"deletedAtIsNil elsewhere", `{ messages(where: {deletedAtIsNil: true, or: [{bodyContains: "4921"}]}) { totalCount } }`},
		}
		for _, c := range refused {
			r := s.Do(t, agent, c.query, map[string]any{"c": w.conversation})
			require.Contains(t, r.Codes(), "FORBIDDEN", "%s: %s", c.name, r)
			require.NotContains(t, string(r.Data), `"totalCount":1`, c.name)
		}

		count := func(token, where string) int {
			t.Helper()
			r := s.Do(t, token, `{ messages(where: `+where+`) { totalCount } }`, nil)
			r.RequireOK(t)
			var out struct{ Messages struct{ TotalCount int } }
			r.Decode(t, &out)
			return out.Messages.TotalCount
		}
		// Kept to rows whose text the agent reads, the filter still works.
		require.Equal(t, 0, count(agent, `{bodyContains: "4921", deletedAtIsNil: true}`))
		require.Equal(t, 1, count(agent, `{bodyContains: "How can I help", deletedAtIsNil: true}`))
		// message.view_deleted reads the tombstone's text, so may filter on it.
		require.Equal(t, 1, count(w.token, `{bodyContains: "4921"}`))
	})
}

// TestHiddenFieldsUnusableInFilters walks the schema: for every role (built
// in, and a custom one with field rules set at runtime) and every key of
// every where input reachable from a root list (through hasXWith edges) and
// every order field, it filters on the key and expects a refusal exactly when
// the role may not read the field (or an edge on the way) in the clear.
func TestHiddenFieldsUnusableInFilters(t *testing.T) {
	t.Parallel()
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		roles := append(slices.Clone(policy.BuiltinRoles), "restricted")
		var custom struct{ CreateRole struct{ ID string } }
		r := s.Do(t, w.token, `mutation { createRole(input: {name: "restricted", label: "Restricted", permissions: [
			"conversation.read.all", "contact.read", "number.view", "agent.view", "group.view"]}) { id } }`, nil)
		r.RequireOK(t)
		r.Decode(t, &custom)
		for coord, eff := range map[string]string{
			"Contact.profileName": "DENY", "Conversation.priority": "DENY", "Number.*": "MASK",
			"Agent.name": "MASK", "Team.*": "DENY", "GroupMember.role": "DENY",
		} {
			s.Do(t, w.token, `mutation($r: ID!, $c: String!, $e: FieldEffect!) { setFieldRule(roleID: $r, coordinate: $c, effect: $e) { id } }`,
				map[string]any{"r": custom.CreateRole.ID, "c": coord, "e": eff}).RequireOK(t)
		}

		walk := newFilterWalk(schema)
		require.Greater(t, len(walk.wheres), 50, "the walk reaches too few where keys")
		refusals := 0
		for _, role := range roles {
			email := "f-" + role + "@alpha.test"
			s.Do(t, w.token, `mutation($e: String!, $p: String!, $r: [String!]) {
				createAgent(input: {name: "F", email: $e, password: $p, roles: $r}) { id } }`,
				map[string]any{"e": email, "p": graphtest.Password, "r": []string{role}}).RequireOK(t)
			token := s.Login(t, email, graphtest.Password)
			ctx, err := s.Authz.Admit(t.Context(), &viewer.Viewer{Kind: viewer.KindAgent, TenantID: w.tenantID, Roles: []string{role}})
			require.NoError(t, err)
			d := policy.FromContext(ctx)

			for _, c := range walk.cases(d) {
				r := s.Do(t, token, c.query, c.vars)
				if c.hidden {
					refusals++
					require.Contains(t, r.Codes(), "FORBIDDEN", "%s: %s must be refused: %s", role, c.name, r)
					require.NotContains(t, string(r.Data), `"totalCount"`, "%s: %s", role, c.name)
				} else {
					require.NotContains(t, r.Codes(), "FORBIDDEN", "%s: %s must be allowed: %s", role, c.name, r)
				}
			}
		}
		t.Logf("%d where keys, %d order fields, %d refusals", len(walk.wheres), len(walk.orders), refusals)
		require.Greater(t, refusals, 100, "the walk tried too few hidden fields")
	})
}

// filterWalk is every where key and order field reachable from a root list.
type filterWalk struct {
	schema *ast.Schema
	wheres []whereKey
	orders []orderKey
}

// whereKey is a key of a where input reached from root through path (hasXWith
// edges), on object obj.
type whereKey struct {
	root, rootInput string
	path            []edgeStep
	obj             string
	key, field      string
	value           any
	first           bool // the first key of its field: allowed fields are tried once
	edge            *edgeStep
}

type edgeStep struct{ from, key, field, to string }

type orderKey struct {
	root        string
	query, name string
	obj, field  string
	value       map[string]any
}

type filterCase struct {
	name, query string
	vars        map[string]any
	hidden      bool
}

func newFilterWalk(schema *ast.Schema) filterWalk {
	fw := filterWalk{schema: schema}
	seen := map[string]bool{}
	type item struct {
		root, rootInput, input string
		path                   []edgeStep
	}
	var queue []item
	for _, f := range schema.Query.Fields {
		if a := f.Arguments.ForName("where"); a != nil {
			queue = append(queue, item{f.Name, a.Type.Name(), a.Type.Name(), nil})
		}
		if a := f.Arguments.ForName("orderBy"); a != nil {
			fw.addOrders(a.Type.Name(), "query($o: "+a.Type.Name()+") { "+f.Name+"(orderBy: $o) { totalCount } }", f.Name, f.Name)
		}
		// Lists below a root list (a group's members) are ordered through it.
		node := schema.Types[strings.TrimSuffix(f.Type.Name(), "Connection")]
		if !strings.HasSuffix(f.Type.Name(), "Connection") || node == nil {
			continue
		}
		for _, nf := range node.Fields {
			a := nf.Arguments.ForName("orderBy")
			if a == nil || strings.HasSuffix(nf.Type.Name(), "Connection") && rootListed(schema, nf.Type.Name()) {
				continue
			}
			fw.addOrders(a.Type.Name(), "query($o: "+a.Type.Name()+") { "+f.Name+"(first: 5) { edges { node { "+
				nf.Name+"(orderBy: $o) { totalCount } } } } }", f.Name, f.Name+"."+nf.Name)
		}
	}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if seen[it.input] {
			continue
		}
		seen[it.input] = true
		obj := schema.Types[strings.TrimSuffix(it.input, "WhereInput")]
		firsts := map[string]bool{}
		for _, f := range schema.Types[it.input].Fields {
			switch f.Name {
			case "not", "and", "or":
				continue
			}
			if edge, target := edgeKey(schema, obj, f.Name); edge != "" {
				step := edgeStep{obj.Name, f.Name, edge, target}
				var value any = true
				if strings.HasSuffix(f.Name, "With") {
					queue = append(queue, item{it.root, it.rootInput, f.Type.Name(), append(slices.Clone(it.path), step)})
					value = []any{map[string]any{}}
				}
				fw.wheres = append(fw.wheres, whereKey{root: it.root, rootInput: it.rootInput, path: it.path, obj: obj.Name,
					key: f.Name, field: edge, value: value, first: !firsts[edge], edge: &step})
				firsts[edge] = true
				continue
			}
			field := longestFieldPrefix(obj, f.Name)
			v, ok := sampleValue(schema, f.Type)
			if field == "" || !ok {
				continue
			}
			fw.wheres = append(fw.wheres, whereKey{root: it.root, rootInput: it.rootInput, path: it.path, obj: obj.Name,
				key: f.Name, field: field, value: v, first: !firsts[field]})
			firsts[field] = true
		}
	}
	return fw
}

func rootListed(schema *ast.Schema, connection string) bool {
	for _, f := range schema.Query.Fields {
		if f.Type.Name() == connection {
			return true
		}
	}
	return false
}

func (fw *filterWalk) addOrders(orderType, query, root, name string) {
	obj := strings.TrimSuffix(orderType, "Order")
	enum := fw.schema.Types[orderType+"Field"]
	for _, v := range enum.EnumValues {
		field := ""
		for _, f := range fw.schema.Types[obj].Fields {
			if strings.EqualFold(f.Name, strings.ReplaceAll(v.Name, "_", "")) {
				field = f.Name
			}
		}
		fw.orders = append(fw.orders, orderKey{root: root, query: query, name: name + " by " + v.Name, obj: obj, field: field,
			value: map[string]any{"field": v.Name, "direction": "ASC"}})
	}
}

// cases are the queries to try for the viewer of d, each marked hidden when
// it must be refused.
func (fw filterWalk) cases(d *policy.Decisions) []filterCase {
	clear := func(typ, field string) bool { return d.Field(typ, field) == policy.Allow }
	var out []filterCase
	for _, k := range fw.wheres {
		if !clear("Query", k.root) {
			continue // the whole list is refused, filter or not
		}
		pathHidden := false
		for _, e := range k.path {
			pathHidden = pathHidden || !clear(e.from, e.field) || !clear(e.to, "id")
		}
		hidden := pathHidden || !clear(k.obj, k.field) || d.TombstoneHidden(k.obj, k.field) ||
			k.edge != nil && !clear(k.edge.to, "id")
		if !hidden && !k.first {
			continue
		}
		value := map[string]any{k.key: k.value}
		for i := len(k.path) - 1; i >= 0; i-- {
			value = map[string]any{k.path[i].key: []any{value}}
		}
		out = append(out, filterCase{
			name:   fmt.Sprintf("%s(where: %v)", k.root, value),
			query:  "query($w: " + k.rootInput + ") { " + k.root + "(where: $w) { totalCount } }",
			vars:   map[string]any{"w": value},
			hidden: hidden,
		})
	}
	for _, o := range fw.orders {
		if !clear("Query", o.root) {
			continue
		}
		out = append(out, filterCase{name: o.name, query: o.query, vars: map[string]any{"o": o.value},
			hidden: o.field == "" || !clear(o.obj, o.field)})
	}
	return out
}

// edgeKey reads hasX / hasXWith as the edge x of obj and the type it leads to.
func edgeKey(schema *ast.Schema, obj *ast.Definition, key string) (edge, target string) {
	name, ok := strings.CutPrefix(key, "has")
	if !ok || name == "" {
		return "", ""
	}
	name = strings.TrimSuffix(name, "With")
	f := obj.Fields.ForName(strings.ToLower(name[:1]) + name[1:])
	if f == nil {
		return "", ""
	}
	target = f.Type.Name()
	if conn, ok := strings.CutSuffix(target, "Connection"); ok {
		target = conn
	}
	if def := schema.Types[target]; def == nil || def.Kind != ast.Object {
		return "", ""
	}
	return f.Name, target
}

// longestFieldPrefix is the longest field of obj that key starts with:
// phoneNEQ filters phone.
func longestFieldPrefix(obj *ast.Definition, key string) string {
	best := ""
	for _, f := range obj.Fields {
		if strings.HasPrefix(key, f.Name) && len(f.Name) > len(best) {
			best = f.Name
		}
	}
	return best
}

// sampleValue is a value of type t for a variable.
func sampleValue(schema *ast.Schema, t *ast.Type) (any, bool) {
	if t.Elem != nil {
		v, ok := sampleValue(schema, t.Elem)
		return []any{v}, ok
	}
	switch t.NamedType {
	case "Boolean":
		return true, true
	case "ID", "String":
		return "x", true
	case "Int":
		return 1, true
	case "Float":
		return 1.5, true
	case "Time":
		return "2026-01-01T00:00:00Z", true
	}
	if def := schema.Types[t.NamedType]; def != nil && def.Kind == ast.Enum {
		return def.EnumValues[0].Name, true
	}
	return nil, false
}
