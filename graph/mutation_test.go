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

func TestConversationLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		do := func(q string, vars map[string]any) graphtest.Response { return s.Do(t, w.token, q, vars) }
		c := map[string]any{"c": w.conversation}

		do(`mutation($c: ID!) { setConversationStatus(id: $c, status: SNOOZED) { id } }`, c).RequireCode(t, "INVALID_INPUT")
		later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		r := do(`mutation($c: ID!, $u: Time) { setConversationStatus(id: $c, status: SNOOZED, snoozedUntil: $u) { status snoozedUntil } }`,
			map[string]any{"c": w.conversation, "u": later})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"status":"SNOOZED"`)

		r = do(`mutation($c: ID!) { resolveConversation(id: $c) { status resolvedAt snoozedUntil } }`, c)
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"snoozedUntil":null`)
		require.NotContains(t, string(r.Data), `"resolvedAt":null`)

		r = do(`mutation($c: ID!) { setConversationStatus(id: $c, status: OPEN) { status resolvedAt } }`, c)
		r.RequireOK(t)
		require.JSONEq(t, `{"setConversationStatus":{"status":"OPEN","resolvedAt":null}}`, string(r.Data))

		r = do(`mutation($c: ID!) { assignConversation(id: $c, agentID: null) { assignee { id } } }`, c)
		r.RequireOK(t)
		require.JSONEq(t, `{"assignConversation":{"assignee":null}}`, string(r.Data))
		r = do(`mutation($c: ID!, $a: ID) { assignConversation(id: $c, agentID: $a) { assignee { id } } }`,
			map[string]any{"c": w.conversation, "a": w.agent})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), w.agent)

		// A transfer to a team alone leaves the conversation for the team to pick up.
		do(`mutation($c: ID!) { transferConversation(id: $c) { id } }`, c).RequireCode(t, "INVALID_INPUT")
		r = do(`mutation($c: ID!, $t: ID) { transferConversation(id: $c, teamID: $t) { assignee { id } team { id } } }`,
			map[string]any{"c": w.conversation, "t": w.team})
		r.RequireOK(t)
		require.JSONEq(t, `{"transferConversation":{"assignee":null,"team":{"id":"`+w.team+`"}}}`, string(r.Data))

		// A disabled agent takes no conversations.
		do(`mutation($a: ID!) { disableAgent(id: $a) { id } }`, map[string]any{"a": w.agent}).RequireOK(t)
		do(`mutation($c: ID!, $a: ID) { assignConversation(id: $c, agentID: $a) { id } }`,
			map[string]any{"c": w.conversation, "a": w.agent}).RequireCode(t, "INVALID_INPUT")
		// Nor can the owner disable themselves.
		do(`mutation($a: ID!) { disableAgent(id: $a) { id } }`, map[string]any{"a": w.owner}).RequireCode(t, "CONFLICT")
	})
}

func TestSendAndDeleteMessages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		do := func(q string, vars map[string]any) graphtest.Response { return s.Do(t, w.token, q, vars) }

		r := do(`mutation($c: ID!, $re: ID) { sendText(conversationID: $c, body: "  On its way!  ", replyToID: $re) {
			id body status direction kind sender { id } replyTo { id } } }`,
			map[string]any{"c": w.conversation, "re": w.inbound})
		r.RequireOK(t)
		require.JSONEq(t, `{"sendText":{"id":`+jsonField(t, r, "sendText", "id")+`,"body":"On its way!","status":"QUEUED",
			"direction":"OUTBOUND","kind":"TEXT","sender":{"id":"`+w.owner+`"},"replyTo":{"id":"`+w.inbound+`"}}}`, string(r.Data))
		sent := jsonField(t, r, "sendText", "id")
		// A message may be quoted many times; quoting it does not make it a
		// reply (reply_to was a bidirectional one-to-one: CONFLICT here).
		r = do(`mutation($c: ID!, $re: ID) { sendText(conversationID: $c, body: "And again", replyToID: $re) { id replyTo { id } } }`,
			map[string]any{"c": w.conversation, "re": w.inbound})
		r.RequireOK(t)
		again := jsonField(t, r, "sendText", "id")
		r = do(`query($m: ID!) { node(id: $m) { ... on Message { replyTo { id } replies { id } } } }`, map[string]any{"m": w.inbound})
		r.RequireOK(t)
		var quoted struct {
			Node struct {
				ReplyTo *struct{ ID string }
				Replies []struct{ ID string }
			}
		}
		r.Decode(t, &quoted)
		require.Nil(t, quoted.Node.ReplyTo)
		require.Len(t, quoted.Node.Replies, 2)
		require.ElementsMatch(t, []string{strings.Trim(sent, `"`), strings.Trim(again, `"`)},
			[]string{quoted.Node.Replies[0].ID, quoted.Node.Replies[1].ID})

		r = do(`query($c: ID!) { node(id: $c) { ... on Conversation { lastMessage { id } firstResponseAt } } }`, map[string]any{"c": w.conversation})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"lastMessage":{"id":`+again+`}`)
		require.NotContains(t, string(r.Data), `"firstResponseAt":null`)

		do(`mutation($c: ID!) { sendText(conversationID: $c, body: "   ") { id } }`, map[string]any{"c": w.conversation}).RequireCode(t, "INVALID_INPUT")
		do(`mutation($c: ID!, $b: String!) { sendText(conversationID: $c, body: $b) { id } }`,
			map[string]any{"c": w.conversation, "b": strings.Repeat("é", 4097)}).RequireCode(t, "INVALID_INPUT")

		// Deleting leaves a tombstone: who and when, and the original kept,
		// which the owner (message.view_deleted) still reads; the matrix test
		// shows that roles without it get null.
		r = do(`mutation($m: ID!) { deleteMessage(id: $m) { body deletedAt deletedBy { id } } }`, map[string]any{"m": w.inbound})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"body":"Hello?"`)
		require.Contains(t, string(r.Data), `"deletedBy":{"id":"`+w.owner+`"}`)
		stored, err := db.Client.Message.Query().Where().All(systemCtx(t, w))
		require.NoError(t, err)
		kept := false
		for _, m := range stored {
			kept = kept || (m.ID == w.inbound && m.Body == "Hello?" && m.DeletedAt != nil)
		}
		require.True(t, kept, "the original text stays in the database")
		// Deleting again changes nothing.
		r2 := do(`mutation($m: ID!) { deleteMessage(id: $m) { deletedAt } }`, map[string]any{"m": w.inbound})
		r2.RequireOK(t)
		require.Contains(t, string(r.Data), jsonField(t, r2, "deleteMessage", "deletedAt"))

		// An unlinked number's conversations take no new messages, and the history stays.
		do(`mutation($n: ID!) { unlinkNumber(id: $n) { status } }`, map[string]any{"n": w.number}).RequireOK(t)
		do(`mutation($c: ID!) { sendText(conversationID: $c, body: "hi") { id } }`, map[string]any{"c": w.conversation}).RequireCode(t, "CONFLICT")
		r = do(`query($c: ID!) { node(id: $c) { ... on Conversation { messages(first: 10) { totalCount } } } }`, map[string]any{"c": w.conversation})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"totalCount":4`, "the greeting, the two replies and the sent text")
	})
}

func TestNumbersLinkUnlinkRelink(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		do := func(q string, vars map[string]any) graphtest.Response { return s.Do(t, w.token, q, vars) }
		r := do(`{ node(id: "`+w.number+`") { ... on Number { phone } } }`, nil)
		phone := jsonField(t, r, "node", "phone")

		do(`mutation($p: String!) { linkNumber(input: {phone: $p, displayName: "Again"}) { id } }`,
			map[string]any{"p": strings.Trim(phone, `"`)}).RequireCode(t, "CONFLICT")
		r = do(`mutation($n: ID!) { unlinkNumber(id: $n) { status unlinkedAt } }`, map[string]any{"n": w.number})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"status":"DISCONNECTED"`)
		r = do(`mutation($p: String!) { linkNumber(input: {phone: $p, displayName: "Back"}) { id displayName status unlinkedAt } }`,
			map[string]any{"p": strings.Trim(phone, `"`)})
		r.RequireOK(t)
		require.JSONEq(t, `{"linkNumber":{"id":"`+w.number+`","displayName":"Back","status":"CONNECTING","unlinkedAt":null}}`, string(r.Data))
	})
}

func TestContactTagsAndAttributes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		do := func(q string, vars map[string]any) graphtest.Response { return s.Do(t, w.token, q, vars) }
		id := map[string]any{"id": w.contact}

		r := do(`mutation($id: ID!) { tagContact(id: $id, add: [" Paris ", "vip", "PARIS"], remove: ["VIP"]) { tags } }`, id)
		r.RequireOK(t)
		require.JSONEq(t, `{"tagContact":{"tags":["paris"]}}`, string(r.Data))
		r = do(`mutation($id: ID!) { updateContact(id: $id, input: {appendTags: ["Newsletter", "paris"]}) { tags } }`, id)
		r.RequireOK(t)
		require.JSONEq(t, `{"updateContact":{"tags":["newsletter","paris"]}}`, string(r.Data))

		r = do(`mutation($id: ID!) { setContactAttributes(id: $id, attributes: [
			{key: "last_purchase_at", type: TIME, value: "2026-11-20T21:30:00+01:00"},
			{key: "lifetime_value", type: NUMBER, value: "1200.50"},
			{key: "churned", type: BOOL, value: "FALSE"}]) { attributes { key type value } } }`, id)
		r.RequireOK(t)
		require.JSONEq(t, `{"setContactAttributes":{"attributes":[
			{"key":"churned","type":"BOOL","value":"false"},
			{"key":"last_purchase_at","type":"TIME","value":"2026-11-20T20:30:00Z"},
			{"key":"lifetime_value","type":"NUMBER","value":"1200.5"}]}}`, string(r.Data))
		for _, bad := range []string{
			`{key: "when", type: TIME, value: "yesterday"}`,
			`{key: "n", type: NUMBER, value: "twelve"}`,
			`{key: "dup", type: STRING, value: "a"}, {key: "dup", type: STRING, value: "b"}`,
			`{key: "", type: STRING, value: "a"}`,
		} {
			do(`mutation($id: ID!) { setContactAttributes(id: $id, attributes: [`+bad+`]) { id } }`, id).RequireCode(t, "INVALID_INPUT")
		}
		do(`mutation { createContact(input: {waID: "33612000111"}) { id } }`, nil).RequireCode(t, "CONFLICT")
	})
}

// TestGroupMembers: on the Cloud API's Groups API members join by invite
// link; adding by number, promoting and a limit past 8 are refused with
// UNSUPPORTED_BY_PROVIDER before anything is stored; removing goes to the
// provider, and the member leaves when its webhook confirms.
func TestGroupMembers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		do := func(q string, vars map[string]any) graphtest.Response { return s.Do(t, w.token, q, vars) }
		g := map[string]any{"g": w.group}

		r := do(`mutation($g: ID!) { updateGroup(id: $g, input: {sendMessages: ADMINS, membersReplyToAdminsOnly: true, joinApproval: true, memberLimit: 3}) {
			sendMessages membersReplyToAdminsOnly joinApproval memberLimit } }`, g)
		r.RequireOK(t)
		require.JSONEq(t, `{"updateGroup":{"sendMessages":"ADMINS","membersReplyToAdminsOnly":true,"joinApproval":true,"memberLimit":3}}`, string(r.Data))
		do(`mutation($g: ID!) { updateGroup(id: $g, input: {memberLimit: 9}) { id } }`, g).RequireCode(t, "UNSUPPORTED_BY_PROVIDER")
		do(`mutation($g: ID!) { updateGroup(id: $g, input: {memberLimit: 0}) { id } }`, g).RequireCode(t, "INVALID_INPUT")

		// The group's own limit (3, under the provider's 8): one member, so
		// three approvals at once are refused as a whole; two pass, in bulk.
		reqs := []string{w.joinRequest}
		for _, wa := range []string{"447700900778", "447700900779"} {
			jr, err := db.Client.GroupJoinRequest.Create().SetGroupID(w.group).SetWaID(wa).SetProviderRequestID("jr-" + wa).Save(systemCtx(t, w))
			require.NoError(t, err)
			reqs = append(reqs, jr.ID)
		}
		r = do(`mutation($ids: [ID!]!) { approveGroupJoinRequests(ids: $ids) { id } }`, map[string]any{"ids": reqs})
		r.RequireCode(t, "INVALID_INPUT")
		require.Contains(t, r.Errors[0].Message, "limited to 3")
		r = do(`mutation($ids: [ID!]!) { approveGroupJoinRequests(ids: $ids) { status decidedBy { id } } }`, map[string]any{"ids": reqs[:2]})
		r.RequireOK(t)
		require.JSONEq(t, `{"approveGroupJoinRequests":[{"status":"APPROVED","decidedBy":{"id":"`+w.owner+`"}},{"status":"APPROVED","decidedBy":{"id":"`+w.owner+`"}}]}`, string(r.Data))
		r = do(`{ viewer { tenant { settings { groupAdminCap } } } }`, nil)
		require.JSONEq(t, `{"viewer":{"tenant":{"settings":{"groupAdminCap":32}}}}`, string(r.Data), "32 admins per group unless the tenant says otherwise")

		do(`mutation($g: ID!) { addGroupMembers(groupID: $g, members: [{waID: "+447700900124"}]) { id } }`, g).RequireCode(t, "UNSUPPORTED_BY_PROVIDER")
		do(`mutation($g: ID!) { setGroupMemberRole(groupID: $g, waID: "447700900123", role: MEMBER) { role } }`, g).RequireCode(t, "UNSUPPORTED_BY_PROVIDER")
		do(`mutation($g: ID!) { setGroupMemberRole(groupID: $g, waID: "447700900123", role: CREATOR) { role } }`, g).RequireCode(t, "INVALID_INPUT")

		r = do(`query($n: ID!) { node(id: $n) { ... on Number { groupCapabilities { transport maxParticipants canAddMembers canPromoteAdmins canDeleteMessages canSendInteractive joinByInviteLink joinApproval } } } }`,
			map[string]any{"n": w.number})
		r.RequireOK(t)
		require.JSONEq(t, `{"node":{"groupCapabilities":{"transport":"CLOUD_API","maxParticipants":8,"canAddMembers":false,"canPromoteAdmins":false,
			"canDeleteMessages":false,"canSendInteractive":false,"joinByInviteLink":true,"joinApproval":true}}}`, string(r.Data))

		do(`mutation($g: ID!) { removeGroupMembers(groupID: $g, waIDs: ["447700900123"]) { id } }`, g).RequireOK(t)
		r = do(`query($g: ID!) { node(id: $g) { ... on Group { members(first: 10) { totalCount edges { node { waID role } } } } } }`, g)
		r.RequireOK(t)
		require.JSONEq(t, `{"node":{"members":{"totalCount":1,"edges":[{"node":{"waID":"447700900123","role":"ADMIN"}}]}}}`, string(r.Data),
			"the member stays until the provider's webhook says they left")
		n, err := db.Client.GroupMember.Query().Count(systemCtx(t, w))
		require.NoError(t, err)
		require.Equal(t, 1, n)
	})
}

func TestSSETransport(t *testing.T) {
	t.Parallel()
	s := graphtest.New(t, storetest.Open(t, "sqlite3"), graph.Config{})
	_, token := s.Tenant(t, "acme")
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/graphql",
		strings.NewReader(`{"query": "{ viewer { kind } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, req)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Type"), "text/event-stream")
	require.Contains(t, rec.Body.String(), `event: next`)
	require.Contains(t, rec.Body.String(), `{"data":{"viewer":{"kind":"AGENT"}}}`)
}
