package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

const (
	setFieldRule   = `mutation($r: ID!, $c: String!, $e: FieldEffect!) { setFieldRule(roleID: $r, coordinate: $c, effect: $e) { id } }`
	clearFieldRule = `mutation($r: ID!, $c: String!) { clearFieldRule(roleID: $r, coordinate: $c) { id } }`
)

// M1: field rules follow "nobody grants what they do not hold": a
// role.manage holder who sees phones masked cannot give anyone (their own
// role included) the phone in the clear, nor clear the rule that hides it.
func TestFieldRulesGrantNothingTheAuthorLacks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		// A role manager without contact.view_phone: phones are masked to them.
		s.Do(t, w.token, `mutation { createRole(input: {name: "rm", label: "Role manager", permissions: ["role.manage", "contact.read", "agent.view"]}) { id } }`, nil).RequireOK(t)
		s.Do(t, w.token, `mutation($p: String!) { createAgent(input: {name: "Rita", email: "rita@alpha.test", password: $p, roles: ["rm"]}) { id } }`,
			map[string]any{"p": graphtest.Password}).RequireOK(t)
		rita := s.Login(t, "rita@alpha.test", graphtest.Password)
		rm := roleID(t, s, w.token, "rm")

		for name, c := range map[string]struct{ coord, eff string }{
			"own role, the field":    {"Contact.phone", "ALLOW"},
			"own role, the type":     {"Contact.*", "ALLOW"},
			"another role, the type": {"Contact.*", "ALLOW"},
		} {
			t.Run(name, func(t *testing.T) {
				role := rm
				if name == "another role, the type" {
					role = w.agentRole
				}
				s.Do(t, rita, setFieldRule, map[string]any{"r": role, "c": c.coord, "e": c.eff}).RequireCode(t, "FORBIDDEN")
			})
		}
		// The owner denies agents the phone: Rita may not clear that (the
		// default would show more than she sees), may narrow it to her own
		// view, and may set and clear rules on what she reads in the clear.
		s.Do(t, w.token, setFieldRule, map[string]any{"r": w.agentRole, "c": "Contact.phone", "e": "DENY"}).RequireOK(t)
		s.Do(t, rita, clearFieldRule, map[string]any{"r": w.agentRole, "c": "Contact.phone"}).RequireCode(t, "FORBIDDEN")
		s.Do(t, rita, setFieldRule, map[string]any{"r": w.agentRole, "c": "Contact.phone", "e": "MASK"}).RequireOK(t)
		s.Do(t, rita, setFieldRule, map[string]any{"r": w.agentRole, "c": "Contact.tags", "e": "DENY"}).RequireOK(t)
		s.Do(t, rita, clearFieldRule, map[string]any{"r": w.agentRole, "c": "Contact.tags"}).RequireOK(t)

	})
}

// M2: the owner role is narrowed only by an owner, and never so far that
// owners lose the API; the last owner can be neither disabled nor demoted.
func TestOwnersCannotBeLockedOut(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		adaID, ada := adminOf(t, s, w, "ada@alpha.test")
		owner := roleID(t, s, w.token, "owner")

		for name, c := range map[string]struct {
			q    string
			vars map[string]any
		}{
			"deny Query.*":     {setFieldRule, map[string]any{"r": owner, "c": "Query.*", "e": "DENY"}},
			"deny Mutation.*":  {setFieldRule, map[string]any{"r": owner, "c": "Mutation.*", "e": "DENY"}},
			"mask a field":     {setFieldRule, map[string]any{"r": owner, "c": "Contact.tags", "e": "MASK"}},
			"clear a rule":     {clearFieldRule, map[string]any{"r": owner, "c": "Contact.tags"}},
			"drop switches":    {`mutation($r: ID!) { updateRole(id: $r, input: {permissions: ["tenant.manage"]}) { id } }`, map[string]any{"r": owner}},
			"demote the owner": {`mutation($a: ID!, $r: [ID!]!) { assignRoles(agentID: $a, roleIDs: $r) { id } }`, map[string]any{"a": w.owner, "r": []string{w.agentRole}}},
			"disable":          {`mutation($a: ID!) { disableAgent(id: $a) { id } }`, map[string]any{"a": w.owner}},
		} {
			t.Run("admin "+name, func(t *testing.T) { s.Do(t, ada, c.q, c.vars).RequireCode(t, "FORBIDDEN") })
		}
		// Even an owner cannot cut owners off the API.
		s.Do(t, w.token, setFieldRule, map[string]any{"r": owner, "c": "Mutation.*", "e": "DENY"}).RequireCode(t, "CONFLICT")
		s.Do(t, w.token, setFieldRule, map[string]any{"r": owner, "c": "Query.roles", "e": "DENY"}).RequireCode(t, "CONFLICT")
		// The last owner cannot be disabled or demoted by another owner either.
		s.Do(t, w.token, `mutation($a: ID!, $r: [ID!]!) { assignRoles(agentID: $a, roleIDs: $r) { id } }`,
			map[string]any{"a": adaID, "r": []string{owner}}).RequireOK(t)
		ada = s.Login(t, "ada@alpha.test", graphtest.Password)
		s.Do(t, ada, `mutation($a: ID!) { disableAgent(id: $a) { id } }`, map[string]any{"a": w.owner}).RequireOK(t)
		s.Do(t, ada, `mutation($a: ID!, $r: [ID!]!) { assignRoles(agentID: $a, roleIDs: $r) { id } }`,
			map[string]any{"a": adaID, "r": []string{w.agentRole}}).RequireCode(t, "CONFLICT")
		// An owner may still narrow what is not the API itself.
		s.Do(t, ada, setFieldRule, map[string]any{"r": owner, "c": "Contact.tags", "e": "MASK"}).RequireOK(t)
	})
}

// Low: verifyAuditChain answers FORBIDDEN to a role without audit.view
// instead of "ok, 0 checked" over a chain it cannot read.
func TestVerifyAuditChainNeedsAuditView(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		q := `{ verifyAuditChain { ok checked } }`
		s.Do(t, agentToken(t, s), q, nil).RequireCode(t, "FORBIDDEN")
		r := s.Do(t, w.token, q, nil)
		r.RequireOK(t)
		var out struct {
			VerifyAuditChain struct {
				OK      bool
				Checked int
			}
		}
		r.Decode(t, &out)
		require.True(t, out.VerifyAuditChain.OK)
		require.Positive(t, out.VerifyAuditChain.Checked)
	})
}
