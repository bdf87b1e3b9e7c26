package graph_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// crossTenantCase is one attempt by tenant A on tenant B's data. want is the
// error code A must get; "" means the call may succeed, as long as it reads
// and changes nothing of B (the snapshot comparison checks that).
type crossTenantCase struct {
	query string
	want  string
}

// crossTenantMutations names, for every mutation of the schema, how A tries
// to reach B with it. TestTenantIsolation fails on a mutation missing here.
func crossTenantMutations(a, b world) map[string][]crossTenantCase {
	nf := func(q string) crossTenantCase { return crossTenantCase{query: q, want: "NOT_FOUND"} }
	ok := func(q string) crossTenantCase { return crossTenantCase{query: q} }
	return map[string][]crossTenantCase{
		// Signing in as B is being B; A's token adds nothing to it.
		"login": {ok(`mutation { login(email: "owner@alpha.test", password: "` + graphtest.Password + `") { accessToken } }`)},
		// A refresh token is a bearer credential of its session: without B's, A gets nowhere.
		"refresh": {{query: `mutation { refresh(refreshToken: "rt_not-a-real-token") { accessToken } }`, want: "UNAUTHENTICATED"}},
		"logout":  {nf(`mutation { logout(refreshToken: "` + b.refreshToken + `") }`)},

		// One's own password: A changes nothing of B's (a wrong current password keeps A's token working).
		"changePassword":     {{query: `mutation { changePassword(currentPassword: "not it at all", newPassword: "long enough pw") { accessToken } }`, want: "INVALID_INPUT"}},
		"issuePasswordReset": {nf(`mutation { issuePasswordReset(agentID: "` + b.agent + `") { token } }`)},
		// A reset token is the credential: without B's, A gets nowhere.
		"resetPassword": {{query: `mutation { resetPassword(token: "pr_not-a-real-token", newPassword: "long enough pw") }`, want: "UNAUTHENTICATED"}},

		"createAPIKey": {ok(`mutation { createAPIKey(input: {name: "mine", role: "agent"}) { apiKey { id } } }`)},
		"revokeAPIKey": {nf(`mutation { revokeAPIKey(id: "` + b.apiKey + `") { id } }`)},

		"createAgent": {
			nf(`mutation { createAgent(input: {name: "X", email: "x@alpha.test", password: "long enough pw", teamIDs: ["` + b.team + `"]}) { id } }`),
			nf(`mutation { createAgent(input: {name: "X", email: "x@alpha.test", password: "long enough pw", numberIDs: ["` + b.number + `"]}) { id } }`),
			// Emails are unique per tenant: B's agent's email is free in A and says nothing about B.
			ok(`mutation { createAgent(input: {name: "Same", email: "agent@beta.test", password: "long enough pw"}) { id } }`),
		},
		"updateAgent": {
			nf(`mutation { updateAgent(id: "` + b.agent + `", input: {name: "pwned"}) { id } }`),
			nf(`mutation { updateAgent(id: "` + a.agent + `", input: {teamIDs: ["` + b.team + `"]}) { id } }`),
		},
		"disableAgent": {nf(`mutation { disableAgent(id: "` + b.agent + `") { id } }`)},
		"enableAgent":  {nf(`mutation { enableAgent(id: "` + b.agent + `") { id } }`)},
		"offboardAgent": {
			nf(`mutation { offboardAgent(id: "` + b.agent + `", reassignTo: {policy: true}) { agent { id } } }`),
			nf(`mutation { offboardAgent(id: "` + a.agent + `", reassignTo: {agentID: "` + b.agent + `"}) { agent { id } } }`),
			nf(`mutation { offboardAgent(id: "` + a.agent + `", reassignTo: {teamID: "` + b.team + `"}) { agent { id } } }`),
		},
		"reinstateAgent": {nf(`mutation { reinstateAgent(id: "` + b.agent + `") { id } }`)},
		"createTeam":     {nf(`mutation { createTeam(input: {name: "T2", agentIDs: ["` + b.agent + `"]}) { id } }`)},
		"updateTeam": {
			nf(`mutation { updateTeam(id: "` + b.team + `", input: {name: "pwned"}) { id } }`),
			nf(`mutation { updateTeam(id: "` + a.team + `", input: {addAgentIDs: ["` + b.agent + `"]}) { id } }`),
			ok(`mutation { updateTeam(id: "` + a.team + `", input: {removeAgentIDs: ["` + b.agent + `"]}) { id } }`),
		},

		"linkNumber": {nf(`mutation { linkNumber(input: {phone: "+33700000001", displayName: "N", memberIDs: ["` + b.agent + `"]}) { id } }`)},
		"updateNumber": {
			nf(`mutation { updateNumber(id: "` + b.number + `", input: {displayName: "pwned"}) { id } }`),
			nf(`mutation { updateNumber(id: "` + a.number + `", input: {addMemberIDs: ["` + b.agent + `"]}) { id } }`),
		},
		"unlinkNumber":         {nf(`mutation { unlinkNumber(id: "` + b.number + `") { id } }`)},
		"setNumberCredentials": {nf(`mutation { setNumberCredentials(id: "` + b.number + `", accessToken: "stolen") { id } }`)},
		"createAutomationRule": {
			nf(`mutation { createAutomationRule(input: {name: "x", trigger: CUSTOMER_MESSAGE, actions: [{type: "ASSIGN_AGENT", agentID: "` + b.agent + `"}]}) { id } }`),
			nf(`mutation { createAutomationRule(input: {name: "x", trigger: CUSTOMER_MESSAGE, actions: [{type: "ASSIGN_TEAM", teamID: "` + b.team + `"}]}) { id } }`),
		},
		"updateAutomationRule": {
			nf(`mutation { updateAutomationRule(id: "` + b.rule + `", input: {name: "pwned", trigger: CUSTOMER_MESSAGE, actions: [{type: "TAG", tag: "x"}]}) { id } }`),
			nf(`mutation { updateAutomationRule(id: "` + a.rule + `", input: {name: "x", trigger: CUSTOMER_MESSAGE, actions: [{type: "ASSIGN_AGENT", agentID: "` + b.agent + `"}]}) { id } }`),
		},
		"deleteAutomationRule": {nf(`mutation { deleteAutomationRule(id: "` + b.rule + `") { id } }`)},
		"setRoutingPolicy": {
			nf(`mutation { setRoutingPolicy(numberID: "` + b.number + `", policy: {strategies: [LEAST_LOADED]}) { id } }`),
			nf(`mutation { setRoutingPolicy(numberID: "` + a.number + `", policy: {strategies: [LEAST_LOADED], teamID: "` + b.team + `"}) { id } }`),
		},

		// B's customer's WhatsApp id is free in A: contacts are per tenant.
		"createContact":        {ok(`mutation { createContact(input: {waID: "` + b.contactWaID + `"}) { id } }`)},
		"updateContact":        {nf(`mutation { updateContact(id: "` + b.contact + `", input: {profileName: "pwned"}) { id } }`)},
		"tagContact":           {nf(`mutation { tagContact(id: "` + b.contact + `", add: ["pwned"]) { id } }`)},
		"setContactAttributes": {nf(`mutation { setContactAttributes(id: "` + b.contact + `", attributes: [{key: "k", type: STRING, value: "v"}]) { id } }`)},

		"setConversationStatus": {nf(`mutation { setConversationStatus(id: "` + b.conversation + `", status: RESOLVED) { id } }`)},
		"assignConversation": {
			nf(`mutation { assignConversation(id: "` + b.conversation + `", agentID: "` + a.agent + `") { id } }`),
			nf(`mutation { assignConversation(id: "` + a.conversation + `", agentID: "` + b.agent + `") { id } }`),
		},
		"transferConversation": {
			nf(`mutation { transferConversation(id: "` + b.conversation + `", agentID: "` + a.agent + `") { id } }`),
			nf(`mutation { transferConversation(id: "` + a.conversation + `", teamID: "` + b.team + `") { id } }`),
		},
		"resolveConversation": {nf(`mutation { resolveConversation(id: "` + b.conversation + `") { id } }`)},
		"sendText": {
			nf(`mutation { sendText(conversationID: "` + b.conversation + `", body: "hi") { id } }`),
			nf(`mutation { sendText(conversationID: "` + a.conversation + `", body: "hi", replyToID: "` + b.inbound + `") { id } }`),
		},
		"deleteMessage": {nf(`mutation { deleteMessage(id: "` + b.inbound + `") { id } }`)},
		"sendMessage": {
			nf(`mutation { sendMessage(input: {conversationID: "` + b.conversation + `", text: "hi"}) { id } }`),
			nf(`mutation { sendMessage(input: {conversationID: "` + a.conversation + `", text: "hi", replyToID: "` + b.inbound + `"}) { id } }`),
		},
		"markConversationRead": {nf(`mutation { markConversationRead(id: "` + b.conversation + `") { id } }`)},

		"createGroup":        {nf(`mutation { createGroup(input: {numberID: "` + b.number + `", subject: "G"}) { id } }`)},
		"updateGroup":        {nf(`mutation { updateGroup(id: "` + b.group + `", input: {subject: "pwned"}) { id } }`)},
		"addGroupMembers":    {nf(`mutation { addGroupMembers(groupID: "` + b.group + `", members: [{waID: "447700900999"}]) { id } }`)},
		"removeGroupMembers": {nf(`mutation { removeGroupMembers(groupID: "` + b.group + `", waIDs: ["` + b.memberWaID + `"]) { id } }`)},
		// Presence is the caller's own.
		"setPresence": {ok(`mutation { setPresence(presence: AWAY) { presence } }`)},
		// The target is the caller's tenant's: A sets its own, B's stays (the snapshot).
		"setFirstResponseTarget": {ok(`mutation { setFirstResponseTarget(seconds: 60) { firstResponseTargetSeconds } }`)},
		// Role names are per tenant: A's "specialist" is not B's.
		"createRole":     {ok(`mutation { createRole(input: {name: "specialist", label: "S", permissions: ["conversation.reply"]}) { id } }`)},
		"updateRole":     {nf(`mutation { updateRole(id: "` + b.agentRole + `", input: {permissions: ["conversation.read.all"]}) { id } }`)},
		"deleteRole":     {nf(`mutation { deleteRole(id: "` + b.agentRole + `") { id } }`)},
		"setFieldRule":   {nf(`mutation { setFieldRule(roleID: "` + b.agentRole + `", coordinate: "Contact.phone", effect: ALLOW) { id } }`)},
		"clearFieldRule": {nf(`mutation { clearFieldRule(roleID: "` + b.agentRole + `", coordinate: "Contact.phone") { id } }`)},
		"assignRoles": {
			nf(`mutation { assignRoles(agentID: "` + b.agent + `", roleIDs: ["` + a.agentRole + `"]) { id } }`),
			nf(`mutation { assignRoles(agentID: "` + a.agent + `", roleIDs: ["` + b.agentRole + `"]) { id } }`),
		},
		"setRetention":             {ok(`mutation { setRetention(days: 30) { retentionDays } }`)},
		"eraseContact":             {nf(`mutation { eraseContact(id: "` + b.contact + `") { id } }`)},
		"setContactLegalHold":      {nf(`mutation { setContactLegalHold(id: "` + b.contact + `", reason: "x") { id } }`)},
		"setConversationLegalHold": {nf(`mutation { setConversationLegalHold(id: "` + b.conversation + `", reason: "x") { id } }`)},
		"createWebhookEndpoint":    {ok(`mutation { createWebhookEndpoint(input: {name: "Mine", url: "https://crm.example.org/a", role: "partner", events: ["message.received"]}) { endpoint { id } } }`)},
		"updateWebhookEndpoint":    {nf(`mutation { updateWebhookEndpoint(id: "` + b.webhook + `", input: {url: "https://evil.example.com/"}) { id } }`)},
		"deleteWebhookEndpoint":    {nf(`mutation { deleteWebhookEndpoint(id: "` + b.webhook + `") }`)},
		"rotateWebhookSecret":      {nf(`mutation { rotateWebhookSecret(id: "` + b.webhook + `") { secret } }`)},
		"redeliverWebhook":         {nf(`mutation { redeliverWebhook(id: "` + b.delivery + `") { id } }`)},
		"indicateTyping":           {nf(`mutation { indicateTyping(conversationID: "` + b.conversation + `") }`)},
		"typingInConversation":     {nf(`mutation { typingInConversation(conversationID: "` + b.conversation + `") }`)},
		"replayInboundDeliveries": {
			nf(`mutation { replayInboundDeliveries(ids: ["` + b.inboundHook + `"]) { id } }`),
			nf(`mutation { replayInboundDeliveries(numberID: "` + b.number + `") { id } }`),
			ok(`mutation { replayInboundDeliveries(state: PROCESSED) { id phoneNumberIDs } }`),
		},
		// A's rate card is A's: setting a line writes A's, B's stays (the snapshot).
		"setMessageRate":           {ok(`mutation { setMessageRate(input: {category: "marketing", price: 0.09}) { id price } }`)},
		"deleteMessageRate":        {nf(`mutation { deleteMessageRate(id: "` + b.rate + `") }`)},
		"setGroupMemberRole":       {nf(`mutation { setGroupMemberRole(groupID: "` + b.group + `", waID: "` + b.memberWaID + `", role: MEMBER) { id } }`)},
		"deleteGroup":              {nf(`mutation { deleteGroup(id: "` + b.group + `") { id } }`)},
		"resetGroupInviteLink":     {nf(`mutation { resetGroupInviteLink(id: "` + b.group + `") { id } }`)},
		"approveGroupJoinRequests": {nf(`mutation { approveGroupJoinRequests(ids: ["` + b.joinRequest + `"]) { id } }`)},
		"rejectGroupJoinRequests":  {nf(`mutation { rejectGroupJoinRequests(ids: ["` + b.joinRequest + `"]) { id } }`)},
		"setGroupAdmins": {
			nf(`mutation { setGroupAdmins(groupID: "` + b.group + `", agentIDs: ["` + a.owner + `"]) { id } }`),
			nf(`mutation { setGroupAdmins(groupID: "` + a.group + `", agentIDs: ["` + b.agent + `"]) { id } }`),
		},
		"hideGroupMessage": {nf(`mutation { hideGroupMessage(id: "` + b.inbound + `") { deletedAtProvider } }`)},
		"createSegment":    {nf(`mutation { createSegment(input: {name: "theirs", filter: {numberIDs: ["` + b.number + `"]}}) { id } }`)},
		"updateSegment": {
			nf(`mutation { updateSegment(id: "` + b.segment + `", input: {name: "pwned", filter: {}}) { id } }`),
			nf(`mutation { updateSegment(id: "` + a.segment + `", input: {name: "x", filter: {numberIDs: ["` + b.number + `"]}}) { id } }`),
		},
		"deleteSegment": {nf(`mutation { deleteSegment(id: "` + b.segment + `") { id } }`)},
		// Templates and broadcasts: A syncs and prepares its own; B's are not found.
		"syncTemplates": {ok(`mutation { syncTemplates }`)},
		"createBroadcast": {
			nf(`mutation { createBroadcast(input: {name: "x", templateID: "` + b.template + `", variables: ["contact.name"], tagsAll: ["vip"]}) { id } }`),
			nf(`mutation { createBroadcast(input: {name: "x", text: "hi", tagsAll: ["vip"], numberIDs: ["` + b.number + `"]}) { id } }`),
			nf(`mutation { createBroadcast(input: {name: "x", text: "hi", tagsAll: ["vip"], sender: FIXED, numberID: "` + b.number + `"}) { id } }`),
		},
		"scheduleBroadcast":  {nf(`mutation { scheduleBroadcast(id: "` + b.broadcast + `") { id } }`)},
		"pauseBroadcast":     {nf(`mutation { pauseBroadcast(id: "` + b.broadcast + `") { id } }`)},
		"resumeBroadcast":    {nf(`mutation { resumeBroadcast(id: "` + b.broadcast + `") { id } }`)},
		"cancelBroadcast":    {nf(`mutation { cancelBroadcast(id: "` + b.broadcast + `") { id } }`)},
		"setBroadcastPolicy": {ok(`mutation { setBroadcastPolicy(input: {marketingCap: 1, marketingCapDays: 7, messagingLimit: 250}) { marketingCap } }`)},
		// The cap is the caller's tenant's: A sets its own, B's stays (the snapshot).
		"setGroupAdminCap":      {ok(`mutation { setGroupAdminCap(cap: 5) { groupAdminCap } }`)},
		"scheduleGroupSettings": {nf(`mutation { scheduleGroupSettings(input: {groupID: "` + b.group + `", start: "2099-01-01T08:00", end: "2099-01-02T08:00", sendMessages: ADMINS}) { id } }`)},
		"cancelGroupSchedule":   {nf(`mutation { cancelGroupSchedule(id: "` + b.schedule + `") { id } }`)},
		"setGroupPhoto":         {nf(`mutation { setGroupPhoto(groupID: "` + b.group + `", jpegBase64: "` + squareJPEG(192) + `") { id } }`)},
		// Without numberID the hours are the caller's tenant's: A sets its own, B's stay (the snapshot).
		"setBusinessHours": {
			nf(`mutation { setBusinessHours(numberID: "` + b.number + `", hours: {weekly: [{weekday: 1, open: "09:00", close: "17:00"}]}) { openNow } }`),
			ok(`mutation { setBusinessHours(hours: {weekly: [{weekday: 1, open: "08:00", close: "12:00"}], closed: ["2026-12-25"]}) { openNow } }`),
		},
		"setAgentWorkingHours": {nf(`mutation { setAgentWorkingHours(agentID: "` + b.agent + `", weekly: [{weekday: 0, open: "09:00", close: "13:00"}]) { id } }`)},
		// An export job of A's own conversations; B's numbers and agents are not found.
		"startConversationExport": {
			nf(`mutation { startConversationExport(filter: {numberIDs: ["` + b.number + `"]}, format: JSONL) { id } }`),
			nf(`mutation { startConversationExport(filter: {agentIDs: ["` + b.agent + `"]}, format: CSV) { id } }`),
			ok(`mutation { startConversationExport(format: JSONL) { id state } }`),
		},
	}
}

// snapshotQuery reads everything a tenant has, with the fields a write would
// change.
var snapshotQuery = `{
  report(input: {from: "` + reportDay(-1) + `", to: "` + reportDay(1) + `", dimension: AGENT}) { buckets { key messagesIn } totals { key opened messagesOut } }
  byNumber: report(input: {from: "` + reportDay(-1) + `", to: "` + reportDay(1) + `", dimension: NUMBER, bucket: HOUR}) { totals { key messagesIn response { count } } }
  viewer { tenant { id name settings { retentionDays firstResponseTargetSeconds groupAdminCap } } }
  numbers(first: 100) { totalCount edges { node { id displayName status updatedAt unlinkedAt routingPolicy { strategies teamID } members(first: 100) { edges { node { id } } }
    costs(month: "2026-11") { total categories { category messages billable cost } } } } }
  messageRates { id category market currency price updatedAt }
  businessHours { timezone weekly { weekday open close } closed openNow nextOpening }
  agents(first: 100) { totalCount edges { node { id name email roles disabledAt updatedAt workingHours { weekday open close } teams { id } } } }
  teams(first: 100) { totalCount edges { node { id name updatedAt agents { id } } } }
  contacts(first: 100) { totalCount edges { node { id profileName tags attributes { key value } updatedAt erasedAt legalHoldAt } } }
  conversations(first: 100) { totalCount edges { node { id status assignee { id } team { id } updatedAt lastMessage { id } assignments { id agent { id } } reservedFor { id } reservedUntil } } }
  routingQueue { length conversations { id } }
  routingRuns(first: 100) { totalCount edges { node { id moves { conversationID } } } }
  automationRules(first: 100) { totalCount edges { node { id name enabled position updatedAt actions { type tag } } } }
  automationRuns(first: 100) { totalCount edges { node { id outcome conversationID } } }
  segments(first: 100) { totalCount edges { node { id name updatedAt filter { numberIDs } preview { count sample { id } } } } }
  everyone: segmentPreview(filter: {}) { count sample { id profileName } }
  messages(first: 100) { totalCount edges { node { id body status deletedAt updatedAt replyTo { id } replies { id } } } }
  groups(first: 100) { totalCount edges { node { id subject updatedAt state inviteLink admins { id } members(first: 100) { totalCount edges { node { waID role } } } joinRequests(first: 100) { totalCount edges { node { id waID status decidedAt } } } schedules { id state startLocal appliedAt createdBy { id } } } } }
  roles { id name updatedAt permissions fieldRules { coordinate effect } }
  auditEvents(first: 100) { totalCount edges { node { id hash } } }
  webhookEndpoints(first: 100) { totalCount edges { node { id name url events role enabled secretPrefix updatedAt } } }
  outboundDeliveries(first: 100) { totalCount edges { node { id eventID state attempts nextAttemptAt updatedAt } } }
  inboundDeliveries(first: 100) { id state attempts phoneNumberIDs error }
  groupWebhookEvents(first: 100) { totalCount edges { node { id field type groupID } } }
  messageTemplates(first: 100) { totalCount edges { node { id name status updatedAt } } }
  broadcasts(first: 100) { totalCount edges { node { id name state updatedAt recipients(first: 100) { totalCount edges { node { id state skipReason } } } } } }
  broadcastPolicy { marketingCap marketingCapDays messagingLimit }
  conversationExports(first: 100) { totalCount edges { node { id state filterText rowsWritten updatedAt downloadURL } } }
}`

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cfg := graph.DefaultConfig
		cfg.MaxComplexity = 1_000_000 // the snapshot reads everything at once
		s := graphtest.New(t, db, cfg)
		a := seedWorld(t, s, "alpha")
		b := seedWorld(t, s, "beta")

		before := s.Do(t, b.token, snapshotQuery, nil)
		before.RequireOK(t)

		t.Run("queries", func(t *testing.T) {
			r := s.Do(t, a.token, snapshotQuery, nil)
			r.RequireOK(t)
			require.NotContains(t, string(r.Body), b.rate, "A's rate card shows B's line")
			require.Contains(t, string(r.Data), `"costs":{"total":0.05,`, "A's costs are A's own reply's")
			for _, id := range b.ids() {
				require.NotContains(t, string(r.Body), id, "A's lists show B's %s", id)
			}
			for _, id := range b.ids() {
				r := s.Do(t, a.token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id})
				require.JSONEq(t, `{"node":null}`, string(r.Data), "node(%s): %s", id, r.Body)
				r.RequireCode(t, "NOT_FOUND")
			}
			r = s.Do(t, a.token, `query($n: ID!) { inboundDeliveries(numberID: $n) { id } }`, map[string]any{"n": b.number})
			r.RequireCode(t, "NOT_FOUND")
			r = s.Do(t, a.token, `query($n: ID!) { segmentPreview(filter: {numberIDs: [$n]}) { count } }`, map[string]any{"n": b.number})
			r.RequireCode(t, "NOT_FOUND")
			r = s.Do(t, a.token, `query($n: ID!) { businessHours(numberID: $n) { weekly { open } } }`, map[string]any{"n": b.number})
			r.RequireCode(t, "NOT_FOUND")
			r = s.Do(t, a.token, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": b.ids()})
			require.NotContains(t, string(r.Body), `"id":"`, "nodes: %s", r.Body)
			for _, q := range []string{
				`{ conversations(where: {id: "` + b.conversation + `"}) { totalCount edges { node { id } } } }`,
				`{ messages(where: {hasConversationWith: {id: "` + b.conversation + `"}}) { totalCount } }`,
				`{ messages(where: {hasRepliesWith: {hasConversationWith: {id: "` + b.conversation + `"}}}) { totalCount } }`,
				`{ contacts(where: {waID: "` + b.contactWaID + `"}) { totalCount edges { node { id } } } }`,
				`{ agents(where: {email: "agent@beta.test"}) { totalCount } }`,
				`{ groupWebhookEvents(where: {groupID: "g-beta"}) { totalCount } }`,
				`{ segments(where: {name: "customers of beta"}) { totalCount } }`,
				`{ segmentPreview(filter: {tagsAny: ["beta"]}) { totalCount: count } }`,
			} {
				r := s.Do(t, a.token, q, nil)
				r.RequireOK(t)
				require.Contains(t, string(r.Data), `"totalCount":0`, "%s: %s", q, r.Body)
				require.NotContains(t, string(r.Data), b.conversation)
			}
		})

		t.Run("mutations", func(t *testing.T) {
			cases := crossTenantMutations(a, b)
			for _, name := range mutationNames(t, s, a.token) {
				tries, ok := cases[name]
				require.True(t, ok, "mutation %s has no cross-tenant case: add one to crossTenantMutations", name)
				for _, c := range tries {
					r := s.Do(t, a.token, c.query, nil)
					require.Less(t, r.Status, 500, "%s: %s", name, r)
					if c.want != "" {
						require.NotEmpty(t, r.Errors, "%s succeeded across tenants: %s", name, r)
						require.Equal(t, c.want, r.Errors[0].Code(), "%s: %s", c.query, r)
					}
					for _, id := range b.ids() {
						require.NotContains(t, string(r.Body), id, "%s leaked %s", name, id)
					}
				}
			}
		})

		t.Run("export", func(t *testing.T) {
			// The export is a list too: A's, even filtered on B's ids, holds nothing of B.
			for _, q := range []string{"format=jsonl", "number=" + b.number, "agent=" + b.agent, "status=OPEN"} {
				req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/export/conversations?"+q, nil)
				req.Header.Set("Authorization", "Bearer "+a.token)
				rec := httptest.NewRecorder()
				s.App.Handler().ServeHTTP(rec, req)
				require.Equal(t, http.StatusOK, rec.Code, "%s: %s", q, rec.Body)
				for _, id := range b.ids() {
					require.NotContains(t, rec.Body.String(), id, "export %s leaked %s", q, id)
				}
			}
			// And the contacts' CSV; an import of B's customer's phone writes A's own contact
			// (B's snapshot below stays as it was).
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/contacts/export", nil)
			req.Header.Set("Authorization", "Bearer "+a.token)
			rec := httptest.NewRecorder()
			s.App.Handler().ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
			for _, id := range b.ids() {
				require.NotContains(t, rec.Body.String(), id, "contact export leaked %s", id)
			}
			req = httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/contacts/import",
				strings.NewReader("phone,tags\n+"+b.contactWaID+",pwned\n"))
			req.Header.Set("Authorization", "Bearer "+a.token)
			rec = httptest.NewRecorder()
			s.App.Handler().ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
			require.Contains(t, rec.Body.String(), `"refused":0`)
			// So is the report's CSV, by every dimension.
			for _, dim := range []string{"TENANT", "NUMBER", "TEAM", "AGENT"} {
				q := "from=" + reportDay(-1) + "&to=" + reportDay(1) + "&dimension=" + dim
				req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/export/report?"+q, nil)
				req.Header.Set("Authorization", "Bearer "+a.token)
				rec := httptest.NewRecorder()
				s.App.Handler().ServeHTTP(rec, req)
				require.Equal(t, http.StatusOK, rec.Code, "%s: %s", q, rec.Body)
				for _, id := range b.ids() {
					require.NotContains(t, rec.Body.String(), id, "report export %s leaked %s", q, id)
				}
			}
		})

		after := s.Do(t, b.token, snapshotQuery, nil)
		after.RequireOK(t)
		require.JSONEq(t, string(before.Data), string(after.Data), "B's data changed")
	})
}

// mutationNames lists the schema's mutations through introspection.
func mutationNames(t *testing.T, s *graphtest.Server, token string) []string {
	t.Helper()
	r := s.Do(t, token, `{ __schema { mutationType { fields { name } } } }`, nil)
	r.RequireOK(t)
	var out struct {
		Schema struct {
			MutationType struct{ Fields []struct{ Name string } }
		} `json:"__schema"`
	}
	r.Decode(t, &out)
	names := make([]string, 0, len(out.Schema.MutationType.Fields))
	for _, f := range out.Schema.MutationType.Fields {
		names = append(names, f.Name)
	}
	require.NotEmpty(t, names)
	return names
}

// reportDay is the UTC date d days from today, for a report around today.
func reportDay(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format(time.DateOnly) }
