package graph_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/jpeg"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/automationrule"
	"github.com/switchboard-dev/switchboard/ent/automationrun"
	"github.com/switchboard-dev/switchboard/ent/group"
	"github.com/switchboard-dev/switchboard/ent/groupmember"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/outbounddelivery"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// world is one tenant with one of everything, for tests that need data.
type world struct {
	tenantID     string
	token        string // the owner's access token
	refreshToken string // the owner's refresh token
	owner        string
	agent        string
	team         string
	number       string
	contact      string
	contactWaID  string
	conversation string
	inbound      string // a message from the customer
	outbound     string // the agent's reply
	group        string
	memberWaID   string
	apiKey       string
	agentRole    string // the built-in agent role
	webhook      string // an outbound webhook endpoint
	delivery     string // a delivery owed to it (the reply's message.sent)
	inboundHook  string // a webhook received from the provider for the number
	groupEvent   string // a group webhook's event kept on the number
	rule         string // an automation rule
	ruleRun      string // its run on the conversation
	rate         string // a line of the rate card
	joinRequest  string // a customer's pending request to join the group
	segment      string // a saved contact filter (the world's number's customers)
	schedule     string // a scheduled change of the group's settings
	template     string // a message template synced from the provider
	broadcast    string // a draft broadcast of that template
	recipient    string // one of its recipient rows
	export       string // a conversation export job the owner asked for
}

// ids lists every entity id of the world.
func (w world) ids() []string {
	return []string{w.tenantID, w.owner, w.agent, w.team, w.number, w.contact, w.conversation, w.inbound, w.outbound, w.group, w.apiKey, w.agentRole, w.webhook, w.delivery, w.inboundHook, w.groupEvent, w.rule, w.ruleRun, w.joinRequest, w.segment, w.schedule, w.template, w.broadcast, w.recipient, w.export}
}

// seedWorld creates a tenant through the API where the API can, and through
// ent (as the tenant's system viewer) for what only ingest creates.
func seedWorld(t *testing.T, s *graphtest.Server, slug string) world {
	t.Helper()
	var w world
	w.tenantID, _ = s.Tenant(t, slug)
	var login struct {
		Login struct {
			AccessToken, RefreshToken string
			Agent                     struct{ ID string }
		}
	}
	r := s.Do(t, "", loginMutation, map[string]any{"e": "owner@" + slug + ".test", "p": graphtest.Password})
	r.RequireOK(t)
	r.Decode(t, &login)
	w.token, w.refreshToken, w.owner = login.Login.AccessToken, login.Login.RefreshToken, login.Login.Agent.ID

	mutate := func(q string, vars map[string]any, out any) {
		t.Helper()
		r := s.Do(t, w.token, q, vars)
		r.RequireOK(t)
		r.Decode(t, out)
	}
	var num struct{ LinkNumber struct{ ID string } }
	mutate(`mutation($p: String!, $pid: String!) { linkNumber(input: {phone: $p, displayName: "Main", phoneNumberID: $pid}) { id } }`,
		map[string]any{"p": "+3361234" + map[string]string{"alpha": "5601", "beta": "5602"}[slug], "pid": "pnid-" + slug}, &num)
	w.number = num.LinkNumber.ID
	// Verified as if its token had been proven (there is no provider here):
	// webhooks for it are the tenant's.
	require.NoError(t, s.DB.Client.Number.UpdateOneID(w.number).SetVerifiedAt(time.Now()).Exec(viewer.Platform(t.Context())))

	var team struct{ CreateTeam struct{ ID string } }
	mutate(`mutation { createTeam(input: {name: "Support"}) { id } }`, nil, &team)
	w.team = team.CreateTeam.ID

	var ag struct{ CreateAgent struct{ ID string } }
	mutate(`mutation($e: String!, $p: String!, $t: ID!, $n: ID!) {
		createAgent(input: {name: "Agent", email: $e, password: $p, employeeCode: "103", teamIDs: [$t], numberIDs: [$n]}) { id } }`,
		map[string]any{"e": "agent@" + slug + ".test", "p": graphtest.Password, "t": w.team, "n": w.number}, &ag)
	w.agent = ag.CreateAgent.ID

	w.contactWaID = map[string]string{"alpha": "33612000111", "beta": "33612000222"}[slug]
	var ct struct{ CreateContact struct{ ID string } }
	mutate(`mutation($wa: String!, $p: String!) { createContact(input: {waID: $wa, profileName: "Camille", phone: $p, tags: ["VIP"]}) { id } }`,
		map[string]any{"wa": w.contactWaID, "p": "+" + w.contactWaID}, &ct)
	w.contact = ct.CreateContact.ID

	var grp struct{ CreateGroup struct{ ID string } }
	mutate(`mutation($n: ID!) { createGroup(input: {numberID: $n, subject: "Parents"}) { id } }`, map[string]any{"n": w.number}, &grp)
	w.group = grp.CreateGroup.ID
	// The provider confirms the group and a customer joins by its invite
	// link; another asks to join (the Cloud API adds nobody by number).
	w.memberWaID = "447700900123"
	sys := viewer.System(t.Context(), w.tenantID)
	require.NoError(t, s.DB.Client.Group.UpdateOneID(w.group).SetState(group.StateACTIVE).SetProviderGroupID("pg-"+slug).
		SetInviteLink("https://chat.whatsapp.com/"+slug).Exec(sys))
	require.NoError(t, s.DB.Client.GroupMember.Create().SetGroupID(w.group).SetWaID(w.memberWaID).SetRole(groupmember.RoleADMIN).Exec(sys))
	jr, err := s.DB.Client.GroupJoinRequest.Create().SetGroupID(w.group).SetWaID("447700900777").SetName("Asking").
		SetProviderRequestID("jr-" + slug).Save(sys)
	require.NoError(t, err)
	w.joinRequest = jr.ID
	var sched struct{ ScheduleGroupSettings struct{ ID string } }
	mutate(`mutation($g: ID!) { scheduleGroupSettings(input: {groupID: $g, label: "Exam week", start: "2099-06-01T08:00", end: "2099-06-05T18:00", sendMessages: ADMINS}) { id } }`,
		map[string]any{"g": w.group}, &sched)
	w.schedule = sched.ScheduleGroupSettings.ID

	var key struct {
		CreateAPIKey struct{ APIKey struct{ ID string } }
	}
	mutate(`mutation { createAPIKey(input: {name: "CRM", role: "partner"}) { apiKey { id } } }`, nil, &key)
	w.apiKey = key.CreateAPIKey.APIKey.ID

	var roles struct{ Roles []struct{ ID, Name string } }
	mutate(`{ roles { id name } }`, nil, &roles)
	for _, r := range roles.Roles {
		if r.Name == "agent" {
			w.agentRole = r.ID
		}
	}
	require.NotEmpty(t, w.agentRole)

	// Conversations start with an inbound message (WhatsApp ingest).
	ctx := viewer.System(t.Context(), w.tenantID)
	c := s.DB.Client
	conv, err := c.Conversation.Create().SetNumberID(w.number).SetContactID(w.contact).SetAssigneeID(w.agent).Save(ctx)
	require.NoError(t, err)
	w.conversation = conv.ID
	in, err := c.Message.Create().SetConversationID(conv.ID).SetNumberID(w.number).
		SetDirection(message.DirectionINBOUND).SetStatus(message.StatusRECEIVED).SetBody("Hello?").Save(ctx)
	require.NoError(t, err)
	w.inbound = in.ID
	require.NoError(t, conv.Update().SetLastMessageID(in.ID).SetLastMessageAt(in.CreatedAt).
		SetLastCustomerMessageAt(in.CreatedAt).Exec(ctx))

	var hook struct {
		CreateWebhookEndpoint struct{ Endpoint struct{ ID string } }
	}
	mutate(`mutation { createWebhookEndpoint(input: {name: "CRM", url: "https://crm.example.com/hooks", role: "partner",
		events: ["message.sent", "conversation.assigned"]}) { endpoint { id } } }`, nil, &hook)
	w.webhook = hook.CreateWebhookEndpoint.Endpoint.ID

	var sent struct{ SendText struct{ ID string } }
	mutate(`mutation($c: ID!) { sendText(conversationID: $c, body: "Hi! How can I help?") { id } }`, map[string]any{"c": conv.ID}, &sent)
	w.outbound = sent.SendText.ID
	d, err := c.OutboundDelivery.Query().Where(outbounddelivery.EndpointID(w.webhook), outbounddelivery.SubjectID(w.outbound)).
		Only(viewer.Platform(t.Context()))
	require.NoError(t, err, "the reply owes the webhook its message.sent")
	w.delivery = d.ID

	// The reply was billed as marketing in November 2026, at the rate card's price.
	require.NoError(t, c.Message.UpdateOneID(w.outbound).SetPricingCategory("marketing").SetPricingModel("PMP").
		SetPricingType("regular").SetBillable(true).SetPricedAt(time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)).Exec(ctx))
	var rate struct{ SetMessageRate struct{ ID string } }
	mutate(`mutation { setMessageRate(input: {category: "marketing", price: 0.05}) { id } }`, nil, &rate)
	w.rate = rate.SetMessageRate.ID

	// What the provider sent for the number: a stored webhook, a group event.
	hd, err := c.WebhookDelivery.Create().SetBody([]byte(`{}`)).SetState(webhookdelivery.StatePROCESSED).
		SetPhoneNumberIds([]string{"pnid-" + slug}).SetError("1 item(s) left out: " + slug).Save(viewer.Platform(t.Context()))
	require.NoError(t, err)
	w.inboundHook = hd.ID
	ge, err := c.GroupWebhookEvent.Create().SetNumberID(w.number).SetField("group_lifecycle_update").SetType("group_create").
		SetGroupID("g-" + slug).SetOccurredAt(time.Now()).SetDigest(slug).Save(ctx)
	require.NoError(t, err)
	w.groupEvent = ge.ID
	rule, err := s.DB.Client.AutomationRule.Create().SetName("tag " + slug).SetTrigger(automationrule.TriggerCUSTOMER_MESSAGE).
		SetActions([]schematype.RuleAction{{Type: "TAG", Tag: slug}}).Save(ctx)
	require.NoError(t, err)
	w.rule = rule.ID
	run, err := s.DB.Client.AutomationRun.Create().SetRuleID(rule.ID).SetRuleName(rule.Name).SetConversationID(w.conversation).
		SetTrigger("CUSTOMER_MESSAGE").SetDepth(0).SetOutcome(automationrun.OutcomeAPPLIED).SetActions([]string{"tagged " + slug}).Save(ctx)
	require.NoError(t, err)
	w.ruleRun = run.ID
	seg, err := s.DB.Client.Segment.Create().SetName("customers of " + slug).
		SetFilter(schematype.SegmentFilter{NumberIDs: []string{w.number}}).Save(ctx)
	require.NoError(t, err)
	w.segment = seg.ID
	tpl, err := c.MessageTemplate.Create().SetWabaID("waba-" + slug).SetProviderID("tpl-" + slug).SetName("promo_" + slug).
		SetLanguage("en").SetCategory("MARKETING").SetStatus("APPROVED").SetBody("Hi {{1}}").SetBodyVariables(1).
		SetSyncedAt(time.Now()).Save(ctx)
	require.NoError(t, err)
	w.template = tpl.ID
	var cast struct{ CreateBroadcast struct{ ID string } }
	mutate(`mutation($t: ID!) { createBroadcast(input: {name: "VIP", templateID: $t, variables: ["contact.name"], tagsAll: ["vip"]}) { id } }`,
		map[string]any{"t": tpl.ID}, &cast)
	w.broadcast = cast.CreateBroadcast.ID
	rcp, err := c.BroadcastRecipient.Create().SetBroadcastID(w.broadcast).SetContactID(w.contact).SetPosition(0).
		SetState("SKIPPED").SetSkipReason("OPTED_OUT").Save(ctx)
	require.NoError(t, err)
	w.recipient = rcp.ID
	xp, err := c.ConversationExport.Create().SetRequesterID(w.owner).SetFormat("JSONL").
		SetFilter(schematype.ExportFilter{NumberIDs: []string{w.number}}).SetFilterText("numbers=" + w.number).Save(ctx)
	require.NoError(t, err)
	w.export = xp.ID
	return w
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// jsonField returns the raw JSON of data.<outer>.<field>.
func jsonField(t *testing.T, r graphtest.Response, outer, field string) string {
	t.Helper()
	var data map[string]map[string]json.RawMessage
	r.Decode(t, &data)
	v, ok := data[outer][field]
	require.True(t, ok, "no %s.%s in %s", outer, field, r.Data)
	return string(v)
}

// systemCtx reads as w's tenant, bypassing the API.
func systemCtx(t *testing.T, w world) context.Context {
	return viewer.System(t.Context(), w.tenantID)
}

// squareJPEG is a side×side JPEG, base64-encoded (a group picture).
func squareJPEG(side int) string {
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}
