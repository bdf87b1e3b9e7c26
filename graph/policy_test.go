package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// roleID returns the id of the role named name.
func roleID(t *testing.T, s *graphtest.Server, token, name string) string {
	t.Helper()
	r := s.Do(t, token, `{ roles { id name } }`, nil)
	r.RequireOK(t)
	var out struct{ Roles []struct{ ID, Name string } }
	r.Decode(t, &out)
	for _, ro := range out.Roles {
		if ro.Name == name {
			return ro.ID
		}
	}
	t.Fatalf("no role %s", name)
	return ""
}

// agentToken signs in w's agent (role agent, member of w's number).
func agentToken(t *testing.T, s *graphtest.Server) string {
	t.Helper()
	return s.Login(t, "agent@alpha.test", graphtest.Password)
}

func TestPolicyChangeAppliesToTheNextRequest(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		agent := agentToken(t, s)
		reply := `mutation { sendText(conversationID: "` + w.conversation + `", body: "On it") { id } }`
		phone := `{ node(id: "` + w.contact + `") { ... on Contact { phone } } }`

		s.Do(t, agent, reply, nil).RequireOK(t)
		r := s.Do(t, agent, phone, nil)
		r.RequireOK(t)
		require.Contains(t, string(r.Data), "•", "agents see phones masked by default")
		r = s.Do(t, agent, `{ viewer { permissions } }`, nil)
		require.Contains(t, string(r.Data), `"conversation.reply"`)

		// The owner turns reply off for agents and shows them phone numbers.
		agentRole := roleID(t, s, w.token, "agent")
		r = s.Do(t, w.token, `query($id: ID!) { node(id: $id) { ... on Role { permissions } } }`, map[string]any{"id": agentRole})
		r.RequireOK(t)
		var cur struct {
			Node struct{ Permissions []string }
		}
		r.Decode(t, &cur)
		var without []string
		for _, p := range cur.Node.Permissions {
			if p != "conversation.reply" {
				without = append(without, p)
			}
		}
		s.Do(t, w.token, `mutation($id: ID!, $p: [String!]) { updateRole(id: $id, input: {permissions: $p}) { id } }`,
			map[string]any{"id": agentRole, "p": without}).RequireOK(t)
		s.Do(t, w.token, `mutation($id: ID!) { setFieldRule(roleID: $id, coordinate: "Contact.phone", effect: ALLOW) { fieldRules { coordinate effect } } }`,
			map[string]any{"id": agentRole}).RequireOK(t)

		// Same token, same server, next request: no restart, no new sign-in.
		r = s.Do(t, agent, reply, nil)
		r.RequireCode(t, "FORBIDDEN")
		require.Equal(t, []any{"sendText"}, r.Errors[0].Path)
		r = s.Do(t, agent, phone, nil)
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"+`+w.contactWaID+`"`)
		r = s.Do(t, agent, `{ viewer { permissions } }`, nil)
		require.NotContains(t, string(r.Data), `"conversation.reply"`)

		// And back to the default rule.
		s.Do(t, w.token, `mutation($id: ID!) { clearFieldRule(roleID: $id, coordinate: "Contact.phone") { id } }`,
			map[string]any{"id": agentRole}).RequireOK(t)
		r = s.Do(t, agent, phone, nil)
		require.Contains(t, string(r.Data), "•")

		// A rule for the whole type reaches every field without a rule of its
		// own, those with a public default included; a field's own rule wins.
		s.Do(t, w.token, `mutation($id: ID!) { setFieldRule(roleID: $id, coordinate: "Contact.*", effect: DENY) { id } }`,
			map[string]any{"id": agentRole}).RequireOK(t)
		s.Do(t, w.token, `mutation($id: ID!) { setFieldRule(roleID: $id, coordinate: "Contact.phone", effect: MASK) { id } }`,
			map[string]any{"id": agentRole}).RequireOK(t)
		r = s.Do(t, agent, `{ node(id: "`+w.contact+`") { ... on Contact { profileName phone } } }`, nil)
		r.RequireCode(t, "FORBIDDEN")
		require.Equal(t, []any{"node", "profileName"}, r.Errors[0].Path)
		require.Len(t, r.Errors, 1, "phone has its own rule")
		require.Contains(t, string(r.Data), "•")
	})
}

func TestRoleChangeRevokesTokens(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		var login struct{ Login grant }
		r := s.Do(t, "", loginMutation, map[string]any{"e": "agent@alpha.test", "p": graphtest.Password})
		r.RequireOK(t)
		r.Decode(t, &login)
		s.Do(t, login.Login.AccessToken, `{ viewer { roles } }`, nil).RequireOK(t)

		sup := roleID(t, s, w.token, "supervisor")
		r = s.Do(t, w.token, `mutation($a: ID!, $r: [ID!]!) { assignRoles(agentID: $a, roleIDs: $r) { roles } }`,
			map[string]any{"a": w.agent, "r": []string{sup}})
		r.RequireOK(t)
		require.JSONEq(t, `{"assignRoles":{"roles":["supervisor"]}}`, string(r.Data))

		// The old token carried the old roles: it no longer works.
		r = s.Do(t, login.Login.AccessToken, `{ viewer { roles } }`, nil)
		require.Equal(t, 401, r.Status, "%s", r)
		r.RequireCode(t, "UNAUTHENTICATED")
		// A refresh brings the new roles.
		var next struct{ Refresh grant }
		r = s.Do(t, "", `mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }`, map[string]any{"t": login.Login.RefreshToken})
		r.RequireOK(t)
		r.Decode(t, &next)
		r = s.Do(t, next.Refresh.AccessToken, `{ viewer { roles } }`, nil)
		r.RequireOK(t)
		require.JSONEq(t, `{"viewer":{"roles":["supervisor"]}}`, string(r.Data))

		// Disabling revokes too, and ends the session.
		s.Do(t, w.token, `mutation($a: ID!) { disableAgent(id: $a) { id } }`, map[string]any{"a": w.agent}).RequireOK(t)
		require.Equal(t, 401, s.Do(t, next.Refresh.AccessToken, `{ viewer { roles } }`, nil).Status)
	})
}

func TestBuiltinRolesAndTheLastOwner(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		do := func(q string, vars map[string]any) graphtest.Response { return s.Do(t, w.token, q, vars) }
		owner, agent := roleID(t, s, w.token, "owner"), roleID(t, s, w.token, "agent")

		do(`mutation($id: ID!) { deleteRole(id: $id) { id } }`, map[string]any{"id": agent}).RequireCode(t, "CONFLICT")
		do(`mutation($id: ID!) { updateRole(id: $id, input: {permissions: []}) { id } }`, map[string]any{"id": agent}).RequireCode(t, "CONFLICT")
		do(`mutation($id: ID!) { updateRole(id: $id, input: {permissions: ["conversation.read.all"]}) { id } }`,
			map[string]any{"id": owner}).RequireCode(t, "CONFLICT")
		do(`mutation($a: ID!, $r: [ID!]!) { assignRoles(agentID: $a, roleIDs: $r) { id } }`,
			map[string]any{"a": w.owner, "r": []string{agent}}).RequireCode(t, "CONFLICT")
		do(`mutation { createRole(input: {name: "x", label: "X", permissions: ["no.such.switch"]}) { id } }`, nil).RequireCode(t, "INVALID_INPUT")
		do(`mutation($id: ID!) { setFieldRule(roleID: $id, coordinate: "Contact.nope", effect: DENY) { id } }`,
			map[string]any{"id": agent}).RequireCode(t, "INVALID_INPUT")

		// With a second owner, the first may step down.
		do(`mutation($a: ID!, $r: [ID!]!) { assignRoles(agentID: $a, roleIDs: $r) { id } }`,
			map[string]any{"a": w.agent, "r": []string{owner}}).RequireOK(t)
		do(`mutation($a: ID!, $r: [ID!]!) { assignRoles(agentID: $a, roleIDs: $r) { id } }`,
			map[string]any{"a": w.owner, "r": []string{agent}}).RequireOK(t)

		// A custom role held by someone cannot go; once free, it can.
		newOwner := s.Login(t, "agent@alpha.test", graphtest.Password)
		var cr struct{ CreateRole struct{ ID string } }
		r := s.Do(t, newOwner, `mutation { createRole(input: {name: "night", label: "Night shift", permissions: ["conversation.reply"]}) { id } }`, nil)
		r.RequireOK(t)
		r.Decode(t, &cr)
		night := map[string]any{"id": cr.CreateRole.ID}
		s.Do(t, newOwner, `mutation($a: ID!, $r: [ID!]!) { assignRoles(agentID: $a, roleIDs: $r) { id } }`,
			map[string]any{"a": w.owner, "r": []string{cr.CreateRole.ID}}).RequireOK(t)
		s.Do(t, newOwner, `mutation($id: ID!) { deleteRole(id: $id) { id } }`, night).RequireCode(t, "CONFLICT")
		s.Do(t, newOwner, `mutation($a: ID!, $r: [ID!]!) { assignRoles(agentID: $a, roleIDs: $r) { id } }`,
			map[string]any{"a": w.owner, "r": []string{agent}}).RequireOK(t)
		s.Do(t, newOwner, `mutation($id: ID!) { deleteRole(id: $id) { name } }`, night).RequireOK(t)
	})
}

func TestRowScopes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		// Five more conversations on w's number, none assigned to w's agent.
		var owner struct {
			Viewer struct{ Agent struct{ ID string } }
		}
		s.Do(t, w.token, `{ viewer { agent { id } } }`, nil).Decode(t, &owner)
		graphtest.AddConversations(t, db.Client, w.tenantID, w.number, owner.Viewer.Agent.ID, 10, 5)

		// A role that sees only what is assigned to you.
		var cr struct{ CreateRole struct{ ID string } }
		r := s.Do(t, w.token, `mutation { createRole(input: {name: "assigned_only", label: "A", permissions: ["conversation.read.assigned", "conversation.resolve", "contact.read"]}) { id } }`, nil)
		r.RequireOK(t)
		r.Decode(t, &cr)
		s.Do(t, w.token, `mutation($a: ID!, $r: [ID!]!) { assignRoles(agentID: $a, roleIDs: $r) { id } }`,
			map[string]any{"a": w.agent, "r": []string{cr.CreateRole.ID}}).RequireOK(t)
		token := agentToken(t, s)

		count := func(token, q string) int {
			t.Helper()
			r := s.Do(t, token, q, nil)
			r.RequireOK(t)
			var out map[string]struct {
				TotalCount int
				Edges      []any
			}
			r.Decode(t, &out)
			for _, v := range out {
				require.LessOrEqual(t, len(v.Edges), v.TotalCount)
				if v.Edges != nil {
					require.Equal(t, v.TotalCount, len(v.Edges), "totalCount agrees with the rows: %s", r)
				}
				return v.TotalCount
			}
			return -1
		}
		require.Equal(t, 6, count(w.token, `{ conversations(first: 100) { totalCount edges { cursor } } }`))
		require.Equal(t, 1, count(token, `{ conversations(first: 100) { totalCount edges { cursor } } }`))
		require.Equal(t, 2, count(token, `{ messages(first: 100) { totalCount edges { cursor } } }`), "messages follow their conversation")
		require.Equal(t, 1, count(token, `{ contacts(first: 100) { totalCount edges { cursor } } }`), "contacts follow their conversations")

		// An unassigned conversation is invisible, to reads and writes alike.
		r = s.Do(t, w.token, `{ conversations(first: 1, where: {hasAssigneeWith: {idNEQ: "`+w.agent+`"}}) { edges { node { id } } } }`, nil)
		var other struct {
			Conversations struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		r.Decode(t, &other)
		hidden := other.Conversations.Edges[0].Node.ID
		s.Do(t, token, `{ node(id: "`+hidden+`") { id } }`, nil).RequireCode(t, "NOT_FOUND")
		s.Do(t, token, `mutation { resolveConversation(id: "`+hidden+`") { id } }`, nil).RequireCode(t, "NOT_FOUND")
		s.Do(t, token, `mutation { resolveConversation(id: "`+w.conversation+`") { status } }`, nil).RequireOK(t)
	})
}

func TestAuditChainNamesTheTamperedRow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		s.Do(t, "", loginMutation, map[string]any{"e": "agent@alpha.test", "p": "wrong password"}).RequireCode(t, "UNAUTHENTICATED")
		s.Do(t, w.token, `mutation($m: ID!) { deleteMessage(id: $m) { id } }`, map[string]any{"m": w.outbound}).RequireOK(t)

		r := s.Do(t, w.token, `{ auditEvents(first: 50, orderBy: {field: AT}) { totalCount edges { node { id seq action actorID targetID summary } } } }`, nil)
		r.RequireOK(t)
		for _, action := range []string{"auth.login", "auth.login_failed", "apikey.create", "message.delete"} {
			require.Contains(t, string(r.Data), `"action":"`+action+`"`)
		}
		var events struct {
			AuditEvents struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID, Action string } }
			}
		}
		r.Decode(t, &events)
		verify := `{ verifyAuditChain { ok checked brokenID brokenSeq reason } }`
		r = s.Do(t, w.token, verify, nil)
		r.RequireOK(t)
		require.JSONEq(t, fmt.Sprintf(`{"verifyAuditChain":{"ok":true,"checked":%d,"brokenID":null,"brokenSeq":null,"reason":null}}`,
			events.AuditEvents.TotalCount), string(r.Data))

		// Someone with database access rewrites the third record.
		victim := events.AuditEvents.Edges[2].Node.ID
		_, err := db.SQL.ExecContext(t.Context(), `UPDATE audit_events SET summary = 'nothing happened' WHERE id = `+placeholder(db), victim)
		require.NoError(t, err)
		r = s.Do(t, w.token, verify, nil)
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"ok":false`)
		require.Contains(t, string(r.Data), `"brokenID":"`+victim+`"`)
		require.Contains(t, string(r.Data), `"brokenSeq":3`)
		require.Contains(t, string(r.Data), "altered")

		// Deleting a record is caught at the one after it.
		_, err = db.SQL.ExecContext(t.Context(), `DELETE FROM audit_events WHERE id = `+placeholder(db), victim)
		require.NoError(t, err)
		r = s.Do(t, w.token, verify, nil)
		require.Contains(t, string(r.Data), `"brokenSeq":4`)
		require.True(t, strings.Contains(string(r.Data), "missing"), "%s", r)
	})
}

func placeholder(db *store.DB) string {
	if db.Dialect == "postgres" {
		return "$1"
	}
	return "?"
}

// Nobody grants a switch they do not hold: an administrator (everything but
// tenant.manage) can hand out the agent role, not make an owner, whether by
// assigning roles, creating a colleague, minting an API key or editing a role.
func TestNobodyGrantsWhatTheyDoNotHold(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		var admin struct{ CreateAgent struct{ ID string } }
		r := s.Do(t, w.token, `mutation { createAgent(input: {name: "Ada", email: "ada@alpha.test", password: "long enough pw", roles: ["admin"]}) { id } }`, nil)
		r.RequireOK(t)
		r.Decode(t, &admin)
		ada := s.Login(t, "ada@alpha.test", "long enough pw")
		owner, adminRole, agentRole := roleID(t, s, w.token, "owner"), roleID(t, s, w.token, "admin"), roleID(t, s, w.token, "agent")

		refused := map[string]struct {
			q    string
			vars map[string]any
		}{
			"assign owner":      {`mutation($a: ID!, $r: [ID!]!) { assignRoles(agentID: $a, roleIDs: $r) { id } }`, map[string]any{"a": admin.CreateAgent.ID, "r": []string{owner}}},
			"create an owner":   {`mutation { createAgent(input: {name: "Eve", email: "eve@alpha.test", password: "long enough pw", roles: ["owner"]}) { id } }`, nil},
			"owner API key":     {`mutation { createAPIKey(input: {name: "k", role: "owner"}) { secret } }`, nil},
			"add tenant.manage": {`mutation($id: ID!) { updateRole(id: $id, input: {permissions: ["tenant.manage", "agent.manage"]}) { id } }`, map[string]any{"id": adminRole}},
			"new role above me": {`mutation { createRole(input: {name: "boss", label: "Boss", permissions: ["tenant.manage"]}) { id } }`, nil},
		}
		for name, c := range refused {
			t.Run(name, func(t *testing.T) { s.Do(t, ada, c.q, c.vars).RequireCode(t, "FORBIDDEN") })
		}
		// What the administrator holds, they may grant.
		s.Do(t, ada, `mutation($a: ID!, $r: [ID!]!) { assignRoles(agentID: $a, roleIDs: $r) { id } }`,
			map[string]any{"a": w.agent, "r": []string{agentRole}}).RequireOK(t)
		s.Do(t, ada, `mutation { createAPIKey(input: {name: "k", role: "agent"}) { secret } }`, nil).RequireOK(t)
		s.Do(t, ada, `mutation { createRole(input: {name: "helper", label: "Helper", permissions: ["conversation.reply"]}) { id } }`, nil).RequireOK(t)
	})
}

// TestMutationWithoutItsAuditRecordFails: the guard checks that a mutation
// declared as audited committed its record. createTeam records team.create;
// declared as recording something else, it fails under StrictAudit (every
// test), and only logs without it. A path that changes nothing
// (audit.Unchanged) needs no record.
func TestMutationWithoutItsAuditRecordFails(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, dialect.SQLite)
	s := graphtest.New(t, db, graph.Config{})
	w := seedWorld(t, s, "alpha")
	r := s.Do(t, w.token, `{ auditEvents(first: 50, where: {action: "team.create"}) { totalCount } }`, nil)
	r.RequireOK(t)
	require.JSONEq(t, `{"auditEvents":{"totalCount":1}}`, string(r.Data))

	// Disabling twice: the second changes nothing and records nothing.
	do := func(s *graphtest.Server) graphtest.Response {
		return s.Do(t, w.token, `mutation($a: ID!) { disableAgent(id: $a) { id } }`, map[string]any{"a": w.agent})
	}
	do(s).RequireOK(t)
	do(s).RequireOK(t)
	r = s.Do(t, w.token, `{ auditEvents(first: 50, where: {action: "agent.disable"}) { totalCount } }`, nil)
	require.JSONEq(t, `{"auditEvents":{"totalCount":1}}`, string(r.Data))

	strict := graphtest.New(t, db, graph.DeclaringAudit(graph.DefaultConfig, "createTeam", "team.other"))
	create := `mutation { createTeam(input: {name: "Billing"}) { id } }`
	r = strict.Do(t, w.token, create, nil)
	r.RequireCode(t, "INTERNAL")

	lax := graphtest.New(t, db, graph.DeclaringAudit(graph.DefaultConfig, "createTeam", "team.other"),
		graphtest.WithConfig(func(c *app.Config) { c.API.StrictAudit = false }))
	lax.Do(t, w.token, `mutation { createTeam(input: {name: "Returns"}) { id } }`, nil).RequireOK(t) // logged at ERROR
}
