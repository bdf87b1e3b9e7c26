package graph_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// matrixRoles are the roles the matrix checks: the built-in ones and a
// custom "Customer service specialist" who may reply but not delete or
// export, and sees phone numbers masked.
var matrixRoles = []string{"owner", "admin", "supervisor", "agent", "auditor", "partner", "cs_specialist"}

// matrixCase is one operation and the outcome each role must get:
// "allow", "deny" (FORBIDDEN), "mask" (a redacted value), "hidden" (null
// without error: a tombstone's text), "held"/"lacked" (a switch in the
// viewer's permissions), or a count.
type matrixCase struct {
	name   string
	op     func(role string) (string, map[string]any)
	read   func(data map[string]any) string // outcome of a response without errors
	expect map[string]string
}

func TestPermissionMatrix(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		tokens, toDelete := matrixUsers(t, s, w)

		all := func(outcome string, except map[string]string) map[string]string {
			m := map[string]string{}
			for _, r := range matrixRoles {
				m[r] = outcome
			}
			for r, o := range except {
				m[r] = o
			}
			return m
		}
		only := func(allowed ...string) map[string]string {
			m := all("deny", nil)
			for _, r := range allowed {
				m[r] = "allow"
			}
			return m
		}
		fixed := func(q string) func(string) (string, map[string]any) {
			return func(string) (string, map[string]any) { return q, nil }
		}
		ok := func(map[string]any) string { return "allow" }

		cases := []matrixCase{
			{
				name: "read a customer's phone",
				op:   fixed(`{ node(id: "` + w.contact + `") { ... on Contact { phone waID } } }`),
				read: func(d map[string]any) string {
					c := d["node"].(map[string]any)
					switch {
					case c["phone"] == "+"+w.contactWaID && c["waID"] == w.contactWaID:
						return "allow"
					case c["phone"] == "+33 •••••••11" && c["waID"] == "+33 •••••••11":
						return "mask"
					}
					return fmt.Sprint(c)
				},
				expect: all("mask", map[string]string{"owner": "allow", "admin": "allow", "supervisor": "allow", "partner": "allow"}),
			},
			{
				name:   "filter contacts by phone",
				op:     fixed(`{ contacts(where: {phone: "+` + w.contactWaID + `"}) { totalCount } }`),
				read:   ok,
				expect: only("owner", "admin", "supervisor", "partner"),
			},
			{
				name:   "read a colleague's email",
				op:     fixed(`{ node(id: "` + w.agent + `") { ... on Agent { name email } } }`),
				read:   ok,
				expect: only("owner", "admin"),
			},
			{
				name: "read a deleted message",
				op:   fixed(`{ node(id: "` + w.inbound + `") { ... on Message { body deletedAt } } }`),
				read: func(d map[string]any) string {
					if d["node"].(map[string]any)["body"] == "Hello?" {
						return "allow"
					}
					return "hidden"
				},
				expect: all("hidden", map[string]string{"owner": "allow", "admin": "allow", "supervisor": "allow", "auditor": "allow"}),
			},
			{
				name: "count the conversations one sees",
				op:   fixed(`{ conversations { totalCount } }`),
				read: func(d map[string]any) string {
					return fmt.Sprint(d["conversations"].(map[string]any)["totalCount"])
				},
				// The agent and the specialist see the conversations of their number only.
				expect: all("2", map[string]string{"agent": "1", "cs_specialist": "1"}),
			},
			{
				name:   "list numbers",
				op:     fixed(`{ numbers { totalCount } }`),
				read:   ok,
				expect: all("allow", nil),
			},
			{
				name: "hold the export switch",
				op:   fixed(`{ viewer { permissions } }`),
				read: func(d map[string]any) string {
					if slices.Contains(d["viewer"].(map[string]any)["permissions"].([]any), any("conversation.export")) {
						return "held"
					}
					return "lacked"
				},
				// The specialist's role was made without it.
				expect: all("lacked", map[string]string{"owner": "held", "admin": "held", "supervisor": "held"}),
			},
			{
				name:   "read the audit log",
				op:     fixed(`{ auditEvents(first: 5) { totalCount } }`),
				read:   ok,
				expect: only("owner", "admin", "auditor"),
			},
			{
				name:   "reply",
				op:     fixed(`mutation { sendText(conversationID: "` + w.conversation + `", body: "Hello from us") { id } }`),
				read:   ok,
				expect: all("allow", map[string]string{"auditor": "deny"}),
			},
			{
				name: "delete a message",
				op: func(role string) (string, map[string]any) {
					return `mutation($m: ID!) { deleteMessage(id: $m) { deletedAt } }`, map[string]any{"m": toDelete[role]}
				},
				read:   ok,
				expect: only("owner", "admin", "supervisor"),
			},
			{
				name:   "assign a conversation",
				op:     fixed(`mutation { assignConversation(id: "` + w.conversation + `", agentID: "` + w.agent + `") { id } }`),
				read:   ok,
				expect: only("owner", "admin", "supervisor", "partner"),
			},
			{
				name: "create an agent",
				op: func(role string) (string, map[string]any) {
					return `mutation($e: String!) { createAgent(input: {name: "New", email: $e, password: "long enough pw"}) { id } }`,
						map[string]any{"e": "new-" + strings.ReplaceAll(role, "_", "-") + "@alpha.test"}
				},
				read:   ok,
				expect: only("owner", "admin"),
			},
			{
				name: "create a role",
				op: func(role string) (string, map[string]any) {
					return `mutation($n: String!) { createRole(input: {name: $n, label: "R", permissions: []}) { id } }`,
						map[string]any{"n": "made_by_" + role}
				},
				read:   ok,
				expect: only("owner", "admin"),
			},
			{
				name: "link a number",
				op: func(role string) (string, map[string]any) {
					return `mutation($p: String!) { linkNumber(input: {phone: $p, displayName: "New"}) { id } }`,
						map[string]any{"p": fmt.Sprintf("+3370000%04d", slices.Index(matrixRoles, role))}
				},
				read:   ok,
				expect: only("owner", "admin"),
			},
		}

		var mismatches []string
		for _, c := range cases {
			for _, role := range matrixRoles {
				q, vars := c.op(role)
				r := s.Do(t, tokens[role], q, vars)
				got := outcome(t, r, c.read)
				if want := c.expect[role]; got != want {
					mismatches = append(mismatches, fmt.Sprintf("%-32s %-14s want %-6s got %s", c.name, role, want, got))
				}
			}
		}
		require.Empty(t, mismatches, "permission matrix mismatches:\n%s", strings.Join(mismatches, "\n"))
	})
}

func outcome(t *testing.T, r graphtest.Response, read func(map[string]any) string) string {
	t.Helper()
	for _, e := range r.Errors {
		if e.Code() == "FORBIDDEN" {
			require.NotEmpty(t, e.Path, "a FORBIDDEN error names the field: %s", r)
			return "deny"
		}
	}
	if len(r.Errors) > 0 {
		return "error " + r.String()
	}
	var data map[string]any
	require.NoError(t, json.Unmarshal(r.Data, &data))
	return read(data)
}

// matrixUsers signs in one user per matrix role (the partner through an API
// key), all members of w's number, and adds a second number with a
// conversation none of them is a member of. It deletes w's inbound message
// and returns, per role, a message for that role to try to delete.
func matrixUsers(t *testing.T, s *graphtest.Server, w world) (tokens, toDelete map[string]string) {
	t.Helper()
	do := func(q string, vars map[string]any, out any) {
		t.Helper()
		r := s.Do(t, w.token, q, vars)
		r.RequireOK(t)
		if out != nil {
			r.Decode(t, out)
		}
	}
	var cs struct{ CreateRole struct{ ID string } }
	do(`mutation { createRole(input: {name: "cs_specialist", label: "Customer service specialist", permissions: [
		"conversation.read.number", "conversation.reply", "conversation.resolve", "contact.read", "number.view", "agent.view"]}) { id } }`, nil, &cs)
	do(`mutation($r: ID!) { setFieldRule(roleID: $r, coordinate: "Contact.phone", effect: MASK) { id } }`, map[string]any{"r": cs.CreateRole.ID}, nil)

	tokens = map[string]string{"owner": w.token}
	for _, role := range matrixRoles {
		if role == "owner" || role == "partner" {
			continue
		}
		email := "m-" + strings.ReplaceAll(role, "_", "-") + "@alpha.test"
		do(`mutation($e: String!, $p: String!, $r: [String!], $n: ID!) {
			createAgent(input: {name: "M", email: $e, password: $p, roles: $r, numberIDs: [$n]}) { id } }`,
			map[string]any{"e": email, "p": graphtest.Password, "r": []string{role}, "n": w.number}, nil)
		tokens[role] = s.Login(t, email, graphtest.Password)
	}
	var key struct{ CreateAPIKey struct{ Secret string } }
	do(`mutation { createAPIKey(input: {name: "CRM", role: "partner"}) { secret } }`, nil, &key)
	tokens["partner"] = key.CreateAPIKey.Secret

	// A conversation on a number the matrix users are not members of.
	var other struct{ LinkNumber struct{ ID string } }
	do(`mutation { linkNumber(input: {phone: "+33612349999", displayName: "Other"}) { id } }`, nil, &other)
	graphtest.AddConversations(t, s.DB.Client, w.tenantID, other.LinkNumber.ID, w.agent, 100, 1)

	do(`mutation($m: ID!) { deleteMessage(id: $m) { id } }`, map[string]any{"m": w.inbound}, nil)
	toDelete = map[string]string{}
	ctx := systemCtx(t, w)
	for _, role := range matrixRoles {
		m, err := s.DB.Client.Message.Create().SetConversationID(w.conversation).SetNumberID(w.number).
			SetDirection(message.DirectionOUTBOUND).SetBody("to delete by " + role).Save(ctx)
		require.NoError(t, err)
		toDelete[role] = m.ID
	}
	return tokens, toDelete
}
