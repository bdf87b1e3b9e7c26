package contact_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/contact"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/conversationexport"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// person is what an erasure must remove, planted everywhere ingest and the
// services put it.
type person struct {
	waID, phone, name, text, reply, tag, attr string
	bsuid, username                           string
}

func plant(t *testing.T, db *store.DB, tenant, phoneNumberID string, p person) (ctx context.Context, c *ent.Contact, conv *ent.Conversation) {
	t.Helper()
	pctx := viewer.Platform(t.Context())
	ten, err := db.Client.Tenant.Create().SetName(tenant).SetSlug(tenant).Save(pctx)
	require.NoError(t, err)
	ctx = viewer.System(t.Context(), ten.ID)
	num, err := db.Client.Number.Create().SetPhone("+3310000" + phoneNumberID[len(phoneNumberID)-4:]).SetDisplayName("Sales").
		SetPhoneNumberID(phoneNumberID).SetVerifiedAt(time.Now()).Save(ctx)
	require.NoError(t, err)
	create := db.Client.Contact.Create().SetWaID(p.waID).SetPhone(p.phone).SetProfileName(p.name).SetTags([]string{p.tag}).
		SetOptInSource("form " + p.attr).SetUsername(p.username)
	if p.bsuid != "" {
		create.SetUserID(p.bsuid)
	}
	c, err = create.Save(ctx)
	require.NoError(t, err)
	conv, err = db.Client.Conversation.Create().SetNumberID(num.ID).SetContactID(c.ID).Save(ctx)
	require.NoError(t, err)
	in, err := db.Client.Message.Create().SetConversationID(conv.ID).SetNumberID(num.ID).SetDirection(message.DirectionINBOUND).
		SetStatus(message.StatusRECEIVED).SetBody(p.text).
		SetContent([]byte(fmt.Sprintf(`{"from":%q,"text":{"body":%q}}`, p.waID, p.text))).Save(ctx)
	require.NoError(t, err)
	_, err = db.Client.Message.Create().SetConversationID(conv.ID).SetNumberID(num.ID).SetDirection(message.DirectionOUTBOUND).
		SetStatus(message.StatusSENT).SetBody(p.reply).SetReplyToID(in.ID).Save(ctx)
	require.NoError(t, err)
	g, err := db.Client.Group.Create().SetNumberID(num.ID).SetSubject("Parents").Save(ctx)
	require.NoError(t, err)
	require.NoError(t, db.Client.GroupMember.Create().SetGroupID(g.ID).SetWaID(p.waID).SetName(p.name).Exec(ctx))
	require.NoError(t, db.Client.GroupJoinRequest.Create().SetGroupID(g.ID).SetWaID(p.waID).SetName(p.name).Exec(ctx))
	require.NoError(t, db.Client.GroupWebhookEvent.Create().SetNumberID(num.ID).SetField("group_participants_update").
		SetType("group_participants_add").SetOccurredAt(time.Now()).SetDigest("d-"+tenant).
		SetPayload([]byte(fmt.Sprintf(`{"type":"group_participants_add","added_participants":[{"input":%q,"wa_id":%q}]}`, p.waID, p.waID))).Exec(ctx))
	body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":%q},`+
		`"contacts":[{"profile":{"name":%q},"wa_id":%q,"user_id":%q}],"messages":[{"from":%q,"id":"wamid.%s","type":"text","text":{"body":%q}}]}}]}]}`,
		phoneNumberID, p.name, p.waID, p.bsuid, p.waID, tenant, p.text)
	require.NoError(t, db.Client.WebhookDelivery.Create().SetBody([]byte(body)).SetState(webhookdelivery.StatePROCESSED).
		SetPhoneNumberIds([]string{phoneNumberID}).Exec(pctx))
	ep, err := db.Client.WebhookEndpoint.Create().SetName("CRM").SetURL("https://crm.example.com").SetSecretSealed([]byte("x")).
		SetSecretPrefix("whsec_x").SetEvents([]string{"message.received"}).SetRole("owner").Save(ctx)
	require.NoError(t, err)
	require.NoError(t, db.Client.OutboundDelivery.Create().SetEndpointID(ep.ID).SetEventID("evt_"+tenant).SetEventType("message.received").
		SetSubjectID(in.ID).SetOrderKey(conv.ID).SetSeq(1).SetOccurredAt(in.CreatedAt).SetNextAttemptAt(in.CreatedAt).
		SetPayload([]byte(fmt.Sprintf(`{"message":{"body":%q},"contact":{"phone":%q,"profileName":%q}}`, p.text, p.phone, p.name))).Exec(ctx))
	return ctx, c, conv
}

// TestEraseContact is must-show 3 of issue 14: after eraseContact no table
// holds the person's WhatsApp id, phone, name or message text (every column
// of every table is scanned, on both databases); their conversations still
// count; the audit chain verifies; another tenant's data about the same
// phone is untouched; a legal hold refuses the erasure.
func TestEraseContact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := contact.NewService(db.Client, nil)
		gone := person{waID: "33612349876", phone: "+33612349876", name: "Zoé Erasable", text: "my secret address is 12 rue Quiet",
			reply: "noted, Zoé, we ship to 12 rue Quiet", tag: "tag-zoe-vip", attr: "zoe-signup-page",
			bsuid: "FR.7730019912345678", username: "@zoe.erasable"}
		ctx, c, conv := plant(t, db, "alpha", "1098765400001", gone)
		// Another tenant knows the same person by the same number: not theirs to erase.
		kept := person{waID: gone.waID, phone: gone.phone, name: "Z. E. (beta)", text: "beta's own record of the order",
			reply: "beta's reply", tag: "beta-tag", attr: "beta-page"}
		bctx, bc, _ := plant(t, db, "beta", "1098765400002", kept)

		// Under legal hold: refused, on the contact and on a conversation.
		_, err := svc.SetConversationLegalHold(ctx, conv.ID, "litigation 2026-17")
		require.NoError(t, err)
		_, err = svc.Erase(ctx, c.ID)
		require.Equal(t, apperr.Conflict, apperr.CodeOf(err), "%v", err)
		_, err = svc.SetConversationLegalHold(ctx, conv.ID, "")
		require.NoError(t, err)
		_, err = svc.SetContactLegalHold(ctx, c.ID, "regulator request")
		require.NoError(t, err)
		_, err = svc.Erase(ctx, c.ID)
		require.Equal(t, apperr.Conflict, apperr.CodeOf(err), "%v", err)
		_, err = svc.SetContactLegalHold(ctx, c.ID, "")
		require.NoError(t, err)

		// An export file alpha already wrote (it may hold the person), and
		// one of beta's.
		later := time.Now().Add(24 * time.Hour)
		file := func(ctx context.Context) *ent.ConversationExport {
			return db.Client.ConversationExport.Create().SetRequesterID("agt_x").SetFormat(conversationexport.FormatJSONL).
				SetFilter(schematype.ExportFilter{}).SetFilterText("all").SetState(conversationexport.StateDONE).
				SetFile("f.jsonl").SetExpiresAt(later).SaveX(ctx)
		}
		alphaFile, betaFile := file(ctx), file(bctx)

		erased, err := svc.Erase(ctx, c.ID)
		require.NoError(t, err)
		require.NotNil(t, erased.ErasedAt)
		alphaFile = db.Client.ConversationExport.GetX(ctx, alphaFile.ID)
		require.False(t, alphaFile.ExpiresAt.After(time.Now()), "alpha's export file is voided: its link refused, the sweep removes it")
		betaFile = db.Client.ConversationExport.GetX(bctx, betaFile.ID)
		require.WithinDuration(t, later, *betaFile.ExpiresAt, time.Second, "beta's is not alpha's to void")
		_, err = svc.Erase(ctx, c.ID)
		require.NoError(t, err, "erasing twice is harmless")

		// Nothing of alpha's person is left anywhere.
		for _, needle := range []string{gone.name, gone.text, gone.reply, gone.tag, gone.attr, "12 rue Quiet", gone.bsuid, gone.username} {
			hits, err := storetest.FindText(t.Context(), db, needle)
			require.NoError(t, err)
			require.Empty(t, hits, "%q is still in %v", needle, hits)
		}
		// The number itself is beta's too: alpha's rows no longer carry it.
		hits, err := storetest.FindText(t.Context(), db, gone.waID)
		require.NoError(t, err)
		require.NotEmpty(t, hits, "beta keeps its own record")
		require.Equal(t, "erased-"+c.ID, erased.WaID)
		require.Empty(t, erased.Phone)
		alphaHooks, err := db.Client.WebhookDelivery.Query().All(viewer.Platform(t.Context()))
		require.NoError(t, err)
		for _, d := range alphaHooks {
			if string(d.Body) != string(contact.ErasedWebhookBody) {
				require.Contains(t, string(d.Body), "1098765400002", "only beta's webhook may still name them: %s", d.Body)
			}
		}
		members, err := db.Client.GroupMember.Query().Count(ctx)
		require.NoError(t, err)
		require.Zero(t, members)
		bStill, err := db.Client.Contact.Get(bctx, bc.ID)
		require.NoError(t, err)
		require.Equal(t, gone.waID, bStill.WaID)
		require.Equal(t, kept.name, bStill.ProfileName)
		for _, needle := range []string{kept.name, kept.text, kept.reply, kept.tag} {
			hits, err := storetest.FindText(t.Context(), db, needle)
			require.NoError(t, err)
			require.NotEmpty(t, hits, "beta's %q must stay", needle)
		}

		// Counts stay: the conversation and its two messages, as tombstones.
		n, err := db.Client.Conversation.Query().Where(conversation.ContactID(c.ID)).Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, err = db.Client.Message.Query().Where(message.ConversationID(conv.ID)).Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n)

		rep, err := audit.Verify(viewer.Platform(t.Context()), db.Client)
		require.NoError(t, err)
		require.True(t, rep.OK, "%+v", rep)
		require.Positive(t, rep.Checked)
	})
}
