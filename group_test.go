package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"slices"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

// groupInfo is what the group tests read of a group.
type groupInfo struct {
	ID              string
	State           string
	InviteLink      *string
	ProviderGroupID *string
	StateReason     *string
	Members         struct {
		TotalCount int
		Edges      []struct{ Node struct{ WaID string } }
	}
	JoinRequests struct {
		Edges []struct {
			Node struct{ ID, WaID, Status string }
		}
	}
}

const groupFields = `id state inviteLink providerGroupID stateReason members { totalCount edges { node { waID } } } joinRequests { edges { node { id waID status } } }`

// group reads a group as token sees it.
func (b *waBundle) group(t *testing.T, token, id string) groupInfo {
	t.Helper()
	r := b.s.Do(t, token, `query($id: ID!) { node(id: $id) { ... on Group { `+groupFields+` } } }`, map[string]any{"id": id})
	r.RequireOK(t)
	var out struct{ Node groupInfo }
	r.Decode(t, &out)
	return out.Node
}

// waitGroup waits until the group passes ok.
func (b *waBundle) waitGroup(t *testing.T, id string, ok func(groupInfo) bool) groupInfo {
	t.Helper()
	var g groupInfo
	require.Eventually(t, func() bool {
		g = b.group(t, b.owner, id)
		return ok(g)
	}, 20*time.Second, 20*time.Millisecond, "group never got there: %s", mustJSON(t, g))
	return g
}

// createGroup creates a group on the bundle's number through the API and
// waits for the provider to confirm it.
func (b *waBundle) createGroup(t *testing.T, numberID, input string) groupInfo {
	t.Helper()
	r := b.s.Do(t, b.owner, `mutation($n: ID!) { createGroup(input: {numberID: $n, `+input+`}) { id state } }`, map[string]any{"n": numberID})
	r.RequireOK(t)
	var out struct{ CreateGroup struct{ ID, State string } }
	r.Decode(t, &out)
	require.Equal(t, "CREATING", out.CreateGroup.State, "creation is asynchronous at the provider")
	return b.waitGroup(t, out.CreateGroup.ID, func(g groupInfo) bool { return g.State == "ACTIVE" })
}

// groupConversation waits for the group's conversation and returns its id.
func (b *waBundle) groupConversation(t *testing.T, groupID string) string {
	t.Helper()
	return b.waitConversation(t, "ID!", `hasGroupWith: {id: $v}`, groupID)
}

// TestGroupEndToEndThroughTheSimulator is the whole path of a group on the
// Cloud API's Groups API: created at the provider (its id and invite link
// arrive by webhook), a customer asks to join, the request is pushed live,
// an admin approves, the member appears, writes in the group's
// conversation, an agent's reply goes to the group and is delivered.
func TestGroupEndToEndThroughTheSimulator(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setupWhatsApp(t, d, 80)
			g := b.createGroup(t, b.numberID, `subject: "Parents 4B", joinApproval: true`)
			require.NotNil(t, g.InviteLink)
			require.True(t, strings.HasPrefix(*g.InviteLink, "https://chat.whatsapp.com/"), *g.InviteLink)
			require.NotNil(t, g.ProviderGroupID)
			simGroup, err := b.sim.Group(*g.ProviderGroupID)
			require.NoError(t, err)
			require.True(t, simGroup.NeedsApproval)

			ws := dialWS(t, strings.Replace(b.url, "http", "ws", 1)+"/graphql", b.owner)
			ws.send(`{"id":"g","type":"subscribe","payload":{"query":"subscription { groupEvents(groupID: \"` + g.ID + `\") { kind group { id } joinRequest { id waID status } } }"}}`)
			require.Eventually(t, func() bool { return b.s.Gateway.Stats().Executions == 1 }, 10*time.Second, 10*time.Millisecond)

			const parent = "33612345001"
			_, err = b.sim.JoinGroup(*g.InviteLink, parent, "Parent One")
			require.NoError(t, err)
			var ev map[string]any
			for ev == nil || ev["kind"] != "JOIN_REQUESTED" {
				ev = ws.next("g")
			}
			jr := ev["joinRequest"].(map[string]any)
			require.Equal(t, parent, jr["waID"])
			require.Equal(t, "PENDING", jr["status"])

			r := b.s.Do(t, b.owner, `mutation($ids: [ID!]!) { approveGroupJoinRequests(ids: $ids) { id status decidedBy { id } decidedAt } }`,
				map[string]any{"ids": []string{jr["id"].(string)}})
			r.RequireOK(t)
			require.Contains(t, string(r.Data), `"status":"APPROVED"`)

			g = b.waitGroup(t, g.ID, func(g groupInfo) bool { return g.Members.TotalCount == 1 && len(g.Members.Edges) == 1 })
			require.Equal(t, parent, g.Members.Edges[0].Node.WaID)

			_, err = b.sim.WriteIn(simNumberID, parent, whatsapp.Message{Type: "text", Text: "Is the trip on Friday?", GroupID: *g.ProviderGroupID, ProfileName: "Parent One"})
			require.NoError(t, err)
			conv := b.groupConversation(t, g.ID)
			var in struct {
				Node struct {
					Group    struct{ ID string }
					Contact  struct{ WaID string }
					Messages struct {
						Edges []struct {
							Node struct {
								Body      string
								Direction string
								Author    struct{ WaID, ProfileName string }
							}
						}
					}
				}
			}
			require.Eventually(t, func() bool {
				r := b.s.Do(t, b.owner, `query($id: ID!) { node(id: $id) { ... on Conversation { group { id } contact { waID }
					messages { edges { node { body direction author { waID profileName } } } } } } }`, map[string]any{"id": conv})
				r.RequireOK(t)
				r.Decode(t, &in)
				return len(in.Node.Messages.Edges) == 1
			}, 20*time.Second, 20*time.Millisecond)
			require.Equal(t, g.ID, in.Node.Group.ID)
			require.Equal(t, *g.ProviderGroupID, in.Node.Contact.WaID, "the conversation's contact stands for the group")
			msg := in.Node.Messages.Edges[0].Node
			require.Equal(t, "Is the trip on Friday?", msg.Body)
			require.Equal(t, "INBOUND", msg.Direction)
			require.Equal(t, parent, msg.Author.WaID, "the member is the message's author")
			require.Equal(t, "Parent One", msg.Author.ProfileName)

			r = b.s.Do(t, b.owner, `mutation($c: ID!) { sendMessage(input: {conversationID: $c, text: "Yes, 8:00 at the gate"}) { id status } }`,
				map[string]any{"c": conv})
			r.RequireOK(t)
			var sent struct{ SendMessage struct{ ID, Status string } }
			r.Decode(t, &sent)
			require.Eventually(t, func() bool {
				r := b.s.Do(t, b.owner, `query($id: ID!) { node(id: $id) { ... on Message { status } } }`, map[string]any{"id": sent.SendMessage.ID})
				var out struct{ Node struct{ Status string } }
				r.Decode(t, &out)
				return out.Node.Status == "DELIVERED" || out.Node.Status == "READ"
			}, 20*time.Second, 20*time.Millisecond)
			log := b.sim.Log()
			require.Len(t, log, 1)
			require.Equal(t, "group", log[0].RecipientType)
			require.Equal(t, *g.ProviderGroupID, log[0].To)
			b.verifyAuditChain(t, "group.create", "group.join_approve")
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// agent creates an agent with role and signs them in.
func (b *waBundle) agent(t *testing.T, name, role string) (id, token string) {
	t.Helper()
	email := strings.ToLower(name) + "@acme.test"
	r := b.s.Do(t, b.owner, `mutation($n: String!, $e: String!, $p: String!, $r: [String!]) { createAgent(input: {name: $n, email: $e, password: $p, roles: $r}) { id } }`,
		map[string]any{"n": name, "e": email, "p": graphtest.Password, "r": []string{role}})
	r.RequireOK(t)
	var out struct{ CreateAgent struct{ ID string } }
	r.Decode(t, &out)
	return out.CreateAgent.ID, b.s.Login(t, email, graphtest.Password)
}

// joinRequests waits until the group has n join requests and returns them,
// oldest first.
func (b *waBundle) joinRequests(t *testing.T, groupID string, n int) []struct{ ID, WaID, Status string } {
	t.Helper()
	var out struct {
		Node struct {
			JoinRequests struct {
				Edges []struct {
					Node struct{ ID, WaID, Status string }
				}
			}
		}
	}
	require.Eventually(t, func() bool {
		r := b.s.Do(t, b.owner, `query($id: ID!) { node(id: $id) { ... on Group { joinRequests(orderBy: {field: CREATED_AT}) { edges { node { id waID status } } } } } }`,
			map[string]any{"id": groupID})
		r.RequireOK(t)
		r.Decode(t, &out)
		return len(out.Node.JoinRequests.Edges) == n
	}, 20*time.Second, 20*time.Millisecond)
	reqs := make([]struct{ ID, WaID, Status string }, n)
	for i, e := range out.Node.JoinRequests.Edges {
		reqs[i] = e.Node
	}
	// By WhatsApp id, not by arrival: deliveries are ingested concurrently,
	// so requests posted in one order may be stored in another.
	slices.SortFunc(reqs, func(a, b struct{ ID, WaID, Status string }) int { return strings.Compare(a.WaID, b.WaID) })
	return reqs
}

// groupMessages counts the messages of a conversation.
func (b *waBundle) groupMessages(t *testing.T, conv string) int {
	t.Helper()
	r := b.s.Do(t, b.owner, `query($c: ID!) { node(id: $c) { ... on Conversation { messages { totalCount } } } }`, map[string]any{"c": conv})
	r.RequireOK(t)
	var out struct {
		Node struct{ Messages struct{ TotalCount int } }
	}
	r.Decode(t, &out)
	return out.Node.Messages.TotalCount
}

// memberWrites has a participant write in the group and returns the
// message's id once stored.
func (b *waBundle) memberWrites(t *testing.T, phoneNumberID, providerGroupID, conv, from, text string) string {
	t.Helper()
	wamid, err := b.sim.WriteIn(phoneNumberID, from, whatsapp.Message{Type: "text", Text: text, GroupID: providerGroupID})
	require.NoError(t, err)
	var id string
	require.Eventually(t, func() bool {
		r := b.s.Do(t, b.owner, `query($w: String!) { messages(where: {providerMessageID: $w}) { edges { node { id } } } }`, map[string]any{"w": wamid})
		var out struct {
			Messages struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		r.Decode(t, &out)
		if len(out.Messages.Edges) == 1 {
			id = out.Messages.Edges[0].Node.ID
		}
		return id != ""
	}, 20*time.Second, 20*time.Millisecond)
	return id
}

// TestGroupProviderLimitsAndAdminRules: on the Cloud API a 9th participant,
// adding by number, deleting a message at the provider and an interactive
// message to a group are refused with UNSUPPORTED_BY_PROVIDER and nothing is
// stored; the tenant's admin cap and the group's posting rules hold.
func TestGroupProviderLimitsAndAdminRules(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setupWhatsApp(t, d, 1000)
			g := b.createGroup(t, b.numberID, `subject: "Book club", joinApproval: true`)
			for i := range 9 {
				_, err := b.sim.JoinGroup(*g.InviteLink, fmt.Sprintf("3361000%04d", i), "")
				require.NoError(t, err)
			}
			reqs := b.joinRequests(t, g.ID, 9)
			var first8 []string
			for _, r := range reqs[:8] {
				first8 = append(first8, r.ID)
			}
			b.s.Do(t, b.owner, `mutation($ids: [ID!]!) { approveGroupJoinRequests(ids: $ids) { id } }`, map[string]any{"ids": first8}).RequireOK(t)
			b.waitGroup(t, g.ID, func(g groupInfo) bool { return g.Members.TotalCount == 8 })

			// The 9th: refused before anything is stored.
			r := b.s.Do(t, b.owner, `mutation($ids: [ID!]!) { approveGroupJoinRequests(ids: $ids) { id } }`, map[string]any{"ids": []string{reqs[8].ID}})
			r.RequireCode(t, "UNSUPPORTED_BY_PROVIDER")
			require.Contains(t, r.Errors[0].Message, "8 participants")
			require.Equal(t, "PENDING", b.joinRequests(t, g.ID, 9)[8].Status)
			b.s.Do(t, b.owner, `mutation($g: ID!) { addGroupMembers(groupID: $g, members: [{waID: "33610009999"}]) { id } }`,
				map[string]any{"g": g.ID}).RequireCode(t, "UNSUPPORTED_BY_PROVIDER")
			require.Equal(t, 8, b.group(t, b.owner, g.ID).Members.TotalCount)

			conv := ""
			member := fmt.Sprintf("3361000%04d", 0)
			_, err := b.sim.WriteIn(simNumberID, member, whatsapp.Message{Type: "text", Text: "First!", GroupID: *g.ProviderGroupID})
			require.NoError(t, err)
			conv = b.groupConversation(t, g.ID)
			require.Eventually(t, func() bool { return b.groupMessages(t, conv) == 1 }, 20*time.Second, 20*time.Millisecond)
			msgs := b.s.Do(t, b.owner, `query($c: ID!) { node(id: $c) { ... on Conversation { messages { edges { node { id } } } } } }`, map[string]any{"c": conv})
			var m struct {
				Node struct {
					Messages struct {
						Edges []struct{ Node struct{ ID string } }
					}
				}
			}
			msgs.Decode(t, &m)
			memberMsg := m.Node.Messages.Edges[0].Node.ID

			r = b.s.Do(t, b.owner, `mutation($c: ID!) { sendMessage(input: {conversationID: $c, interactive: {body: "Pick one", buttons: [{id: "a", title: "A"}]}}) { id } }`,
				map[string]any{"c": conv})
			r.RequireCode(t, "UNSUPPORTED_BY_PROVIDER")
			require.Equal(t, 1, b.groupMessages(t, conv), "nothing stored")

			r = b.s.Do(t, b.owner, `mutation($m: ID!) { hideGroupMessage(id: $m, atProvider: true) { deletedAtProvider } }`, map[string]any{"m": memberMsg})
			r.RequireCode(t, "UNSUPPORTED_BY_PROVIDER")
			r = b.s.Do(t, b.owner, `query($m: ID!) { node(id: $m) { ... on Message { deletedAt } } }`, map[string]any{"m": memberMsg})
			require.JSONEq(t, `{"node":{"deletedAt":null}}`, string(r.Data), "nothing stored")
			r = b.s.Do(t, b.owner, `mutation($m: ID!) { hideGroupMessage(id: $m) { deletedAtProvider providerNote message { deletedAt body deletedBy { id } } } }`, map[string]any{"m": memberMsg})
			r.RequireOK(t)
			var hidden struct {
				HideGroupMessage struct {
					DeletedAtProvider bool
					ProviderNote      string
					Message           struct {
						DeletedAt *string
						Body      string
					}
				}
			}
			r.Decode(t, &hidden)
			require.False(t, hidden.HideGroupMessage.DeletedAtProvider)
			require.Contains(t, hidden.HideGroupMessage.ProviderNote, "cannot delete messages in a group")
			require.NotNil(t, hidden.HideGroupMessage.Message.DeletedAt)
			require.Equal(t, "First!", hidden.HideGroupMessage.Message.Body, "the original is retained (owner has message.view_deleted)")

			// The admin cap: 2 for the tenant.
			sup1, sup1Token := b.agent(t, "Sam", "supervisor")
			sup2, _ := b.agent(t, "Sue", "supervisor")
			owner := b.ownerID(t)
			b.s.Do(t, b.owner, `mutation { setGroupAdminCap(cap: 2) { groupAdminCap } }`, nil).RequireOK(t)
			b.s.Do(t, b.owner, `mutation($g: ID!, $a: [ID!]!) { setGroupAdmins(groupID: $g, agentIDs: $a) { id } }`,
				map[string]any{"g": g.ID, "a": []string{owner, sup1, sup2}}).RequireCode(t, "CONFLICT")
			b.s.Do(t, b.owner, `mutation($g: ID!, $a: [ID!]!) { setGroupAdmins(groupID: $g, agentIDs: $a) { admins { id } } }`,
				map[string]any{"g": g.ID, "a": []string{owner, sup2}}).RequireOK(t)

			// Admins-only posting: Sam is not an admin.
			b.s.Do(t, b.owner, `mutation($g: ID!) { updateGroup(id: $g, input: {sendMessages: ADMINS}) { id } }`, map[string]any{"g": g.ID}).RequireOK(t)
			b.s.Do(t, sup1Token, `mutation($g: ID!) { updateGroup(id: $g, input: {sendMessages: ALL}) { id } }`, map[string]any{"g": g.ID}).RequireCode(t, "FORBIDDEN")
			post := func(token, text string, replyTo *string) graphtestResponse {
				return b.s.Do(t, token, `mutation($c: ID!, $t: String!, $r: ID) { sendMessage(input: {conversationID: $c, text: $t, replyToID: $r}) { id } }`,
					map[string]any{"c": conv, "t": text, "r": replyTo})
			}
			before := b.groupMessages(t, conv)
			post(sup1Token, "Hello all", nil).RequireCode(t, "FORBIDDEN")
			require.Equal(t, before, b.groupMessages(t, conv), "nothing stored")
			r = post(b.owner, "Meeting moved to Thursday", nil)
			r.RequireOK(t)
			var ann struct{ SendMessage struct{ ID string } }
			r.Decode(t, &ann)
			post(sup1Token, "Noted", &ann.SendMessage.ID).RequireCode(t, "FORBIDDEN") // replies not allowed yet
			b.s.Do(t, b.owner, `mutation($g: ID!) { updateGroup(id: $g, input: {membersReplyToAdminsOnly: true}) { id } }`, map[string]any{"g": g.ID}).RequireOK(t)
			post(sup1Token, "Noted", &ann.SendMessage.ID).RequireOK(t)
			post(sup1Token, "Welcome", &memberMsg).RequireCode(t, "FORBIDDEN") // not an announcement
			post(sup1Token, "Hello all", nil).RequireCode(t, "FORBIDDEN")
			b.verifyAuditChain(t, "group.join_approve", "group.message_hide", "group.admins", "tenant.settings")
		})
	}
}

type graphtestResponse = graphtest.Response

// ownerID is the id of the bundle's owner.
func (b *waBundle) ownerID(t *testing.T) string {
	t.Helper()
	r := b.s.Do(t, b.owner, `{ viewer { agent { id } } }`, nil)
	r.RequireOK(t)
	var out struct {
		Viewer struct{ Agent struct{ ID string } }
	}
	r.Decode(t, &out)
	return out.Viewer.Agent.ID
}

// addAppNumber adds a simulator number whose groups behave like the phone
// app's, linked with groupMode APP.
func (b *waBundle) addAppNumber(t *testing.T) (numberID, phoneNumberID string) {
	t.Helper()
	phoneNumberID = "100200301"
	require.NoError(t, b.sim.AddNumber(sim.Number{PhoneNumberID: phoneNumberID, Token: simToken, DisplayPhone: "33600000002", GroupMode: sim.GroupModeApp, Throughput: 1000}))
	r := b.s.Do(t, b.owner, `mutation($p: String!) { linkNumber(input: {phone: "+33600000002", displayName: "Project", provider: sim, phoneNumberID: $p, throughput: 1000, groupMode: APP}) { id } }`,
		map[string]any{"p": phoneNumberID})
	r.RequireOK(t)
	var linked struct{ LinkNumber struct{ ID string } }
	r.Decode(t, &linked)
	b.s.Do(t, b.owner, `mutation($id: ID!, $t: String!) { setNumberCredentials(id: $id, accessToken: $t) { id } }`,
		map[string]any{"id": linked.LinkNumber.ID, "t": simToken}).RequireOK(t)
	return linked.LinkNumber.ID, phoneNumberID
}

// TestSeededGroupsAsTests are the seeds' two groups: the 35-person project
// group (on the simulator configured like the phone app, whose capabilities
// allow 35) in admins-only posting with replies to announcements allowed,
// and the parents' group whose joins need the approval of one of its 3
// admins.
func TestSeededGroupsAsTests(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setupWhatsApp(t, d, 1000)
			t.Run("project group of 35", func(t *testing.T) {
				appNumber, appPNID := b.addAppNumber(t)
				r := b.s.Do(t, b.owner, `query($n: ID!) { node(id: $n) { ... on Number { groupCapabilities { transport maxParticipants canAddMembers } } } }`, map[string]any{"n": appNumber})
				require.JSONEq(t, `{"node":{"groupCapabilities":{"transport":"APP","maxParticipants":1024,"canAddMembers":true}}}`, string(r.Data))
				g := b.createGroup(t, appNumber, `subject: "Project Atlas", sendMessages: ADMINS, membersReplyToAdminsOnly: true`)
				var members []map[string]any
				for i := range 35 {
					members = append(members, map[string]any{"waID": fmt.Sprintf("3362000%04d", i)})
				}
				b.s.Do(t, b.owner, `mutation($g: ID!, $m: [GroupMemberInput!]!) { addGroupMembers(groupID: $g, members: $m) { id } }`,
					map[string]any{"g": g.ID, "m": members}).RequireOK(t)
				g = b.waitGroup(t, g.ID, func(g groupInfo) bool { return g.Members.TotalCount == 35 })
				simGroup, err := b.sim.Group(*g.ProviderGroupID)
				require.NoError(t, err)
				require.Len(t, simGroup.Participants, 35)

				_, memberToken := b.agent(t, "Mia", "supervisor") // may manage groups, is not this group's admin
				memberMsg := ""
				conv := ""
				_, err = b.sim.WriteIn(appPNID, "33620000001", whatsapp.Message{Type: "text", Text: "Where are the slides?", GroupID: *g.ProviderGroupID})
				require.NoError(t, err)
				conv = b.groupConversation(t, g.ID)
				require.Eventually(t, func() bool { return b.groupMessages(t, conv) == 1 }, 20*time.Second, 20*time.Millisecond)
				r = b.s.Do(t, b.owner, `query($c: ID!) { node(id: $c) { ... on Conversation { messages { edges { node { id } } } } } }`, map[string]any{"c": conv})
				var m struct {
					Node struct {
						Messages struct {
							Edges []struct{ Node struct{ ID string } }
						}
					}
				}
				r.Decode(t, &m)
				memberMsg = m.Node.Messages.Edges[0].Node.ID

				send := func(token, text string, replyTo *string) graphtestResponse {
					return b.s.Do(t, token, `mutation($c: ID!, $t: String!, $r: ID) { sendMessage(input: {conversationID: $c, text: $t, replyToID: $r}) { id } }`,
						map[string]any{"c": conv, "t": text, "r": replyTo})
				}
				send(memberToken, "Hi team", nil).RequireCode(t, "FORBIDDEN")
				r = send(b.owner, "Slides are in the shared drive", nil) // the creator is the group's admin
				r.RequireOK(t)
				var ann struct{ SendMessage struct{ ID string } }
				r.Decode(t, &ann)
				send(memberToken, "Thanks!", &ann.SendMessage.ID).RequireOK(t)
				send(memberToken, "Found them", &memberMsg).RequireCode(t, "FORBIDDEN")
				require.Eventually(t, func() bool {
					n := 0
					for _, e := range b.sim.Log() {
						if e.RecipientType == "group" && e.To == *g.ProviderGroupID {
							n++
						}
					}
					return n == 2
				}, 20*time.Second, 20*time.Millisecond, "the announcement and the reply reach the group")
			})
			t.Run("parents group approved by one of 3 admins", func(t *testing.T) {
				g := b.createGroup(t, b.numberID, `subject: "Parents 4B", joinApproval: true, addMembers: ADMINS`)
				a1, _ := b.agent(t, "Ada", "supervisor")
				a2, a2Token := b.agent(t, "Ben", "supervisor")
				_, outsiderToken := b.agent(t, "Cy", "supervisor")
				b.s.Do(t, b.owner, `mutation($g: ID!, $a: [ID!]!) { setGroupAdmins(groupID: $g, agentIDs: $a) { id } }`,
					map[string]any{"g": g.ID, "a": []string{b.ownerID(t), a1, a2}}).RequireOK(t)
				_, err := b.sim.JoinGroup(*g.InviteLink, "33630000001", "Parent A")
				require.NoError(t, err)
				_, err = b.sim.JoinGroup(*g.InviteLink, "33630000002", "Parent B")
				require.NoError(t, err)
				reqs := b.joinRequests(t, g.ID, 2) // by WhatsApp id: A, then B
				b.s.Do(t, outsiderToken, `mutation($ids: [ID!]!) { approveGroupJoinRequests(ids: $ids) { id } }`,
					map[string]any{"ids": []string{reqs[0].ID}}).RequireCode(t, "FORBIDDEN")
				r := b.s.Do(t, a2Token, `mutation($ids: [ID!]!) { approveGroupJoinRequests(ids: $ids) { status decidedBy { id } } }`,
					map[string]any{"ids": []string{reqs[0].ID}})
				r.RequireOK(t)
				require.JSONEq(t, `{"approveGroupJoinRequests":[{"status":"APPROVED","decidedBy":{"id":"`+a2+`"}}]}`, string(r.Data))
				b.s.Do(t, a2Token, `mutation($ids: [ID!]!) { rejectGroupJoinRequests(ids: $ids) { status } }`,
					map[string]any{"ids": []string{reqs[1].ID}}).RequireOK(t)
				g = b.waitGroup(t, g.ID, func(g groupInfo) bool { return g.Members.TotalCount == 1 && len(g.Members.Edges) == 1 })
				require.Equal(t, "33630000001", g.Members.Edges[0].Node.WaID)
				require.Eventually(t, func() bool {
					sg, err := b.sim.Group(*g.ProviderGroupID)
					return err == nil && len(sg.JoinRequests) == 0 && len(sg.Participants) == 1
				}, 20*time.Second, 20*time.Millisecond, "the provider approved one and rejected the other")
			})
		})
	}
}

// TestGroupPhotoAtTheProvider: a group's picture goes to the provider by a
// durable job (a multipart POST /{group_id}) and the provider's
// group_settings_update confirms it; what the Groups API would refuse (not
// a JPEG, not square, under 192×192) is refused first, and the change is
// audited.
func TestGroupPhotoAtTheProvider(t *testing.T) {
	t.Parallel()
	b := setupWhatsApp(t, dialect.SQLite, 1000)
	g := b.createGroup(t, b.numberID, `subject: "Photo club"`)
	set := func(img image.Image) graphtestResponse {
		var buf bytes.Buffer
		require.NoError(t, jpeg.Encode(&buf, img, nil))
		return b.s.Do(t, b.owner, `mutation($g: ID!, $p: String!) { setGroupPhoto(groupID: $g, jpegBase64: $p) { photoSha256 } }`,
			map[string]any{"g": g.ID, "p": base64.StdEncoding.EncodeToString(buf.Bytes())})
	}
	set(image.NewRGBA(image.Rect(0, 0, 300, 200))).RequireCode(t, "INVALID_INPUT")
	set(image.NewRGBA(image.Rect(0, 0, 100, 100))).RequireCode(t, "INVALID_INPUT")
	b.s.Do(t, b.owner, `mutation($g: ID!) { setGroupPhoto(groupID: $g, jpegBase64: "aGVsbG8=") { id } }`, map[string]any{"g": g.ID}).
		RequireCode(t, "INVALID_INPUT")

	r := set(image.NewRGBA(image.Rect(0, 0, 256, 256)))
	r.RequireOK(t)
	var out struct{ SetGroupPhoto struct{ PhotoSha256 string } }
	r.Decode(t, &out)
	require.Len(t, out.SetGroupPhoto.PhotoSha256, 64)
	require.Eventually(t, func() bool {
		sg, err := b.sim.Group(*g.ProviderGroupID)
		return err == nil && sg.PhotoSHA256 == out.SetGroupPhoto.PhotoSha256
	}, 20*time.Second, 20*time.Millisecond, "the provider has the picture")
	r = b.s.Do(t, b.owner, `query($id: ID!) { node(id: $id) { ... on Group { stateReason photoSha256 } } }`, map[string]any{"id": g.ID})
	r.RequireOK(t)
	require.JSONEq(t, `{"node":{"stateReason":"","photoSha256":"`+out.SetGroupPhoto.PhotoSha256+`"}}`, string(r.Data), "the provider took it")
	b.verifyAuditChain(t, "group.photo")
}
