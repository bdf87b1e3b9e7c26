package graph_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// adminOf creates an administrator (everything but tenant.manage) in w's
// tenant and signs them in.
func adminOf(t *testing.T, s *graphtest.Server, w world, email string) (id, token string) {
	t.Helper()
	r := s.Do(t, w.token, `mutation($e: String!, $p: String!) { createAgent(input: {name: "Ada", email: $e, password: $p, roles: ["admin"]}) { id } }`,
		map[string]any{"e": email, "p": graphtest.Password})
	r.RequireOK(t)
	var out struct{ CreateAgent struct{ ID string } }
	r.Decode(t, &out)
	return out.CreateAgent.ID, s.Login(t, email, graphtest.Password)
}

// auditActions lists the actions of the tenant's audit log, oldest first.
func auditActions(t *testing.T, s *graphtest.Server, token string) string {
	t.Helper()
	r := s.Do(t, token, `{ auditEvents(first: 100) { edges { node { action summary } } } }`, nil)
	r.RequireOK(t)
	return string(r.Data)
}

// High 4: agent.manage does not take over owners. Nobody changes the
// credentials of, disables or re-enables someone holding a switch they do
// not hold; a password is never set directly; the default role is checked
// like any other.
func TestAgentManageCannotTakeOverOwners(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		_, ada := adminOf(t, s, w, "ada@alpha.test")

		// No mutation sets a password directly.
		r := s.Do(t, ada, `mutation($id: ID!) { updateAgent(id: $id, input: {password: "attacker's choice"}) { id } }`, map[string]any{"id": w.owner})
		r.RequireCode(t, "GRAPHQL_VALIDATION_FAILED")

		for name, q := range map[string]string{
			"email":   `mutation($id: ID!) { updateAgent(id: $id, input: {email: "mine@evil.test"}) { id } }`,
			"reset":   `mutation($id: ID!) { issuePasswordReset(agentID: $id) { token } }`,
			"disable": `mutation($id: ID!) { disableAgent(id: $id) { id } }`,
		} {
			t.Run(name, func(t *testing.T) {
				s.Do(t, ada, q, map[string]any{"id": w.owner}).RequireCode(t, "FORBIDDEN")
			})
		}
		// The owner's credentials still work and nothing was recorded as done.
		s.Login(t, "owner@alpha.test", graphtest.Password)

		// createAgent without roles gives the agent role, checked like any
		// role: once it holds a switch the admin lacks, they cannot hand it out.
		s.Do(t, ada, `mutation { createAgent(input: {name: "A1", email: "a1@alpha.test", password: "long enough pw"}) { id } }`, nil).RequireOK(t)
		s.Do(t, w.token, `mutation($id: ID!) { updateRole(id: $id, input: {permissions: ["tenant.manage", "conversation.reply"]}) { id } }`,
			map[string]any{"id": w.agentRole}).RequireOK(t)
		s.Do(t, ada, `mutation { createAgent(input: {name: "A2", email: "a2@alpha.test", password: "long enough pw"}) { id } }`, nil).
			RequireCode(t, "FORBIDDEN")
		// ... and the agents who now hold it are out of the admin's reach too.
		s.Do(t, ada, `mutation($id: ID!) { issuePasswordReset(agentID: $id) { token } }`, map[string]any{"id": w.agent}).RequireCode(t, "FORBIDDEN")
	})
}

// High 4: a reset token issued by an admin works once, before it expires,
// and ends every session of the agent; the agent's own change needs the
// current password; an email change ends the sessions; all are audited.
func TestPasswordResetAndChange(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		_, ada := adminOf(t, s, w, "ada@alpha.test")
		agent := s.Login(t, "agent@alpha.test", graphtest.Password)

		r := s.Do(t, ada, `mutation($id: ID!) { issuePasswordReset(agentID: $id) { token expiresAt agent { id } } }`, map[string]any{"id": w.agent})
		r.RequireOK(t)
		var issued struct{ IssuePasswordReset struct{ Token string } }
		r.Decode(t, &issued)
		token := issued.IssuePasswordReset.Token
		require.True(t, strings.HasPrefix(token, "pr_"), token)
		// Issuing does not change the password: the agent still works.
		s.Do(t, agent, `{ viewer { kind } }`, nil).RequireOK(t)
		s.Do(t, ada, `mutation($id: ID!) { issuePasswordReset(agentID: $id) { token } }`, map[string]any{"id": "agt_nobody"}).RequireCode(t, "INVALID_INPUT")

		reset := `mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`
		s.Do(t, "", reset, map[string]any{"t": token, "p": "short"}).RequireCode(t, "INVALID_INPUT")
		s.Do(t, "", reset, map[string]any{"t": "pr_" + strings.Repeat("x", 43), "p": "a brand new password"}).RequireCode(t, "UNAUTHENTICATED")
		s.Do(t, "", reset, map[string]any{"t": token, "p": "a brand new password"}).RequireOK(t)
		s.Do(t, "", reset, map[string]any{"t": token, "p": "a second new password"}).RequireCode(t, "UNAUTHENTICATED")
		// Every session ended: the old access token is refused.
		s.Do(t, agent, `{ viewer { kind } }`, nil).RequireCode(t, "UNAUTHENTICATED")
		s.Do(t, "", loginMutation, map[string]any{"e": "agent@alpha.test", "p": graphtest.Password}).RequireCode(t, "UNAUTHENTICATED")
		agent = s.Login(t, "agent@alpha.test", "a brand new password")

		// The owner's change: the current password, then a fresh session.
		change := `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken } }`
		s.Do(t, agent, change, map[string]any{"c": "not the password", "n": "yet another password"}).RequireCode(t, "INVALID_INPUT")
		r = s.Do(t, agent, change, map[string]any{"c": "a brand new password", "n": "yet another password"})
		r.RequireOK(t)
		var changed struct{ ChangePassword struct{ AccessToken string } }
		r.Decode(t, &changed)
		s.Do(t, agent, `{ viewer { kind } }`, nil).RequireCode(t, "UNAUTHENTICATED")
		s.Do(t, changed.ChangePassword.AccessToken, `{ viewer { kind } }`, nil).RequireOK(t)
		agent = s.Login(t, "agent@alpha.test", "yet another password")

		// An email change ends the sessions too.
		s.Do(t, ada, `mutation($id: ID!) { updateAgent(id: $id, input: {email: "agent2@alpha.test"}) { id } }`, map[string]any{"id": w.agent}).RequireOK(t)
		s.Do(t, agent, `{ viewer { kind } }`, nil).RequireCode(t, "UNAUTHENTICATED")
		s.Login(t, "agent2@alpha.test", "yet another password")

		log := auditActions(t, s, w.token)
		for _, action := range []string{"agent.password_reset_issue", "agent.password_reset", "agent.password", "agent.email"} {
			require.Contains(t, log, `"action":"`+action+`"`)
		}
		require.NotContains(t, log, "agent2@alpha.test", "summaries name people, not their emails")
	})
}
