package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestAutomationRuleMutations: an owner writes, changes, lists and deletes
// a rule; bad rules are refused with the field at fault; an agent without
// automation.manage may do none of it, nor read the rules.
func TestAutomationRuleMutations(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		owner := s.Inbox(t, "rules", 0)
		agent := s.Login(t, "agent@rules.test", graphtest.Password)
		const create = `mutation($in: AutomationRuleInput!) { createAutomationRule(input: $in) { id name trigger delayMinutes
			conditions { field op values } actions { type tag } } }`
		rule := map[string]any{"name": "refunds", "trigger": "CUSTOMER_MESSAGE",
			"conditions": []any{map[string]any{"field": "MESSAGE_TEXT", "op": "CONTAINS", "values": []string{"refund"}}},
			"actions":    []any{map[string]any{"type": "TAG", "tag": "refund"}}}
		r := s.Do(t, owner, create, map[string]any{"in": rule})
		r.RequireOK(t)
		var out struct{ CreateAutomationRule struct{ ID string } }
		r.Decode(t, &out)
		require.JSONEq(t, `{"createAutomationRule":{"id":"`+out.CreateAutomationRule.ID+`","name":"refunds","trigger":"CUSTOMER_MESSAGE","delayMinutes":0,
			"conditions":[{"field":"MESSAGE_TEXT","op":"CONTAINS","values":["refund"]}],"actions":[{"type":"TAG","tag":"refund"}]}}`, string(r.Data))

		for _, bad := range []map[string]any{
			{"name": "x", "trigger": "NO_AGENT_REPLY", "actions": []any{map[string]any{"type": "TAG", "tag": "t"}}},                      // a timer without its delay
			{"name": "x", "trigger": "CUSTOMER_MESSAGE", "delayMinutes": 5, "actions": []any{map[string]any{"type": "TAG", "tag": "t"}}}, // a delay without a timer
			{"name": "x", "trigger": "CUSTOMER_MESSAGE", "actions": []any{}},
			{"name": "x", "trigger": "CUSTOMER_MESSAGE", "actions": []any{map[string]any{"type": "LAUNCH_ROCKET"}}},
			{"name": "x", "trigger": "CUSTOMER_MESSAGE", "actions": []any{map[string]any{"type": "TAG", "tag": "t"}},
				"conditions": []any{map[string]any{"field": "MESSAGE_TEXT", "op": "MATCHES", "values": []string{"(unclosed"}}}},
			{"name": "x", "trigger": "CUSTOMER_MESSAGE", "actions": []any{map[string]any{"type": "SEND_TEXT", "text": "Hi {{contact.phone}}"}}}, // not a variable
			{"name": "x", "trigger": "SNOOZE_ENDED", "delayMinutes": 1, "actions": []any{map[string]any{"type": "TAG", "tag": "t"}}},            // not supported yet
		} {
			s.Do(t, owner, create, map[string]any{"in": bad}).RequireCode(t, "INVALID_INPUT")
		}

		rule["name"], rule["position"] = "refunds first", -1
		s.Do(t, owner, `mutation($id: ID!, $in: AutomationRuleInput!) { updateAutomationRule(id: $id, input: $in) { id } }`,
			map[string]any{"id": out.CreateAutomationRule.ID, "in": rule}).RequireOK(t)
		r = s.Do(t, owner, `{ automationRules(first: 10) { totalCount edges { node { name position } } } }`, nil)
		r.RequireOK(t)
		require.JSONEq(t, `{"automationRules":{"totalCount":1,"edges":[{"node":{"name":"refunds first","position":-1}}]}}`, string(r.Data))

		s.Do(t, agent, create, map[string]any{"in": rule}).RequireCode(t, "FORBIDDEN")
		s.Do(t, agent, `{ automationRules(first: 10) { totalCount } }`, nil).RequireCode(t, "FORBIDDEN")
		s.Do(t, agent, `{ automationRuns(first: 10) { totalCount } }`, nil).RequireCode(t, "FORBIDDEN")

		s.Do(t, owner, `mutation($id: ID!) { deleteAutomationRule(id: $id) { id } }`, map[string]any{"id": out.CreateAutomationRule.ID}).RequireOK(t)
		r = s.Do(t, owner, `{ automationRules(first: 10) { totalCount } auditEvents(first: 3, orderBy: {field: AT, direction: DESC}) { edges { node { action } } } }`, nil)
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"totalCount":0`)
		require.Contains(t, string(r.Data), `automation.rule_delete`)
	})
}
