package connector_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/auditevent"
	"github.com/switchboard-dev/switchboard/ent/broadcastrecipient"
	"github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

const (
	kerryPhone = "16505551234"
	kerryBSUID = "US.13491208655302741918"
)

// textAs is a text message of the messages webhook reference as Meta sends
// it since BSUIDs (v23+): the sender by phone (wa_id, from), by BSUID
// (user_id, from_user_id), or both; an empty id is left out.
func textAs(wamid string, ts int64, phone, bsuid, body string) []byte {
	ct := map[string]any{"profile": map[string]string{"name": "Kerry Fisher", "username": "@kerry"}}
	msg := map[string]any{"id": wamid, "timestamp": fmt.Sprint(ts), "type": "text", "text": map[string]string{"body": body}}
	if phone != "" {
		ct["wa_id"], msg["from"] = phone, phone
	}
	if bsuid != "" {
		ct["user_id"], msg["from_user_id"] = bsuid, bsuid
	}
	v, _ := json.Marshal(map[string]any{"messaging_product": "whatsapp",
		"metadata": map[string]string{"display_phone_number": "972123456789", "phone_number_id": "1122334455667"},
		"contacts": []any{ct}, "messages": []any{msg}})
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":%s}]}]}`, v)
}

func contacts(t *testing.T, b *testBundle) []*ent.Contact {
	t.Helper()
	cs, err := b.db.Client.Contact.Query().Order(ent.Asc(contact.FieldCreatedAt)).All(b.ctx)
	require.NoError(t, err)
	return cs
}

// A customer is one contact whichever ids a message carries: first known by
// phone, then by phone and BSUID, then by the BSUID alone (a username hides
// the phone), and the reverse; their messages share one conversation
// (defect 2: match on either).
func TestContactIsFoundByPhoneOrBSUID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		order [][2]string // phone, bsuid of each message
	}{
		{"phone first", [][2]string{{kerryPhone, ""}, {kerryPhone, kerryBSUID}, {"", kerryBSUID}, {kerryPhone, ""}}},
		{"BSUID first", [][2]string{{"", kerryBSUID}, {kerryPhone, kerryBSUID}, {kerryPhone, ""}, {"", kerryBSUID}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				b := setup(t, db)
				for i, ids := range tc.order {
					require.Equal(t, http.StatusOK, b.post(t, textAs(fmt.Sprintf("wamid.%d", i), int64(1750000000+i), ids[0], ids[1], "hi")))
				}
				cs := contacts(t, b)
				require.Len(t, cs, 1, "one person, one contact")
				c := cs[0]
				require.Equal(t, kerryPhone, c.WaID, "addressed by the phone once it is known")
				require.Equal(t, "+"+kerryPhone, c.Phone)
				require.NotNil(t, c.UserID)
				require.Equal(t, kerryBSUID, *c.UserID)
				require.Equal(t, "@kerry", c.Username)
				n, err := db.Client.Conversation.Query().Count(b.ctx)
				require.NoError(t, err)
				require.Equal(t, 1, n, "one conversation")
				n, err = db.Client.Message.Query().Count(b.ctx)
				require.NoError(t, err)
				require.Len(t, tc.order, n)
			})
		})
	}
}

// Two contacts that turn out to be one person (one known by phone, one by
// BSUID, until a message carries both) are merged into the older: the
// conversations move, tags and attributes are united, the merge is audited
// and published as a contact update (defect 2: merge when both are learnt).
func TestContactsOfOnePersonAreMerged(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		require.Equal(t, http.StatusOK, b.post(t, textAs("wamid.phone", 1750000000, kerryPhone, "", "from my phone")))
		require.Equal(t, http.StatusOK, b.post(t, textAs("wamid.bsuid", 1750000010, "", kerryBSUID, "from my username")))
		cs := contacts(t, b)
		require.Len(t, cs, 2, "nothing links the two yet")
		byPhone, byUser := cs[0], cs[1]
		held := time.Now()
		require.NoError(t, byPhone.Update().SetLegalHoldAt(held).SetLegalHoldReason("litigation 2026-17").Exec(b.ctx))
		require.NoError(t, byUser.Update().SetLegalHoldAt(held).SetLegalHoldReason("regulator request").Exec(b.ctx))
		require.NoError(t, byPhone.Update().SetTags([]string{"vip"}).
			SetAttributes([]schematype.ContactAttribute{{Key: "tier", Type: schematype.AttributeString, Value: "gold"}}).Exec(b.ctx))
		require.NoError(t, byUser.Update().SetTags([]string{"lead", "vip"}).SetOptIn(contact.OptInOPTED_OUT).
			SetAttributes([]schematype.ContactAttribute{{Key: "tier", Type: schematype.AttributeString, Value: "silver"},
				{Key: "city", Type: schematype.AttributeString, Value: "Lyon"}}).Exec(b.ctx))
		sub, err := b.bus.Subscribe(t.Context(), byPhone.TenantID)
		require.NoError(t, err)

		require.Equal(t, http.StatusOK, b.post(t, textAs("wamid.both", 1750000020, kerryPhone, kerryBSUID, "both")))
		cs = contacts(t, b)
		require.Len(t, cs, 1, "merged")
		c := cs[0]
		require.Equal(t, byPhone.ID, c.ID, "the older survives")
		require.Equal(t, kerryPhone, c.WaID)
		require.Equal(t, kerryBSUID, *c.UserID)
		require.Equal(t, []string{"vip", "lead"}, c.Tags)
		require.Equal(t, []schematype.ContactAttribute{{Key: "tier", Type: schematype.AttributeString, Value: "gold"},
			{Key: "city", Type: schematype.AttributeString, Value: "Lyon"}}, c.Attributes)
		require.Equal(t, contact.OptInOPTED_OUT, c.OptIn, "an opt-out on either wins")
		require.NotNil(t, c.LegalHoldAt)
		require.Equal(t, "litigation 2026-17; regulator request", c.LegalHoldReason, "both holds' reasons are kept")
		convs, err := db.Client.Conversation.Query().Where(conversation.ContactID(c.ID)).Count(b.ctx)
		require.NoError(t, err)
		require.Equal(t, 2, convs, "the BSUID contact's conversation moved with its history")
		for _, wamid := range []string{"wamid.phone", "wamid.bsuid", "wamid.both"} {
			require.Equal(t, c.ID, conversationOf(t, b, wamid).ContactID, wamid)
		}
		ev, err := db.Client.AuditEvent.Query().Where(auditevent.Action(audit.ActionContactMerged)).Only(b.ctx)
		require.NoError(t, err)
		require.Equal(t, c.ID, ev.TargetID)
		require.Contains(t, ev.Summary, byUser.ID)
		movedConv := conversationOf(t, b, "wamid.bsuid").ID
		timeout := time.After(10 * time.Second)
		for contactUpdated, convUpdated := false, false; !contactUpdated || !convUpdated; {
			select {
			case e := <-sub.Events():
				contactUpdated = contactUpdated || e.Type == realtime.ContactChanged && e.Subject == c.ID && kindOf(t, e) == realtime.KindUpdated
				convUpdated = convUpdated || e.Type == realtime.ConversationChanged && e.Subject == movedConv && kindOf(t, e) == realtime.KindUpdated
			case <-timeout:
				t.Fatal("no update published for the merged contact and its moved conversation")
			}
		}

		// posted again: nothing changes
		require.Equal(t, http.StatusOK, b.post(t, textAs("wamid.both", 1750000020, kerryPhone, kerryBSUID, "both")))
		require.Len(t, contacts(t, b), 1)
	})
}

// A merge moves the absorbed contact's broadcast recipient rows to the
// survivor, so that the frequency cap counts the marketing it was sent
// (issue 12); in a broadcast that planned both, the survivor's row stays.
func TestMergeMovesBroadcastRecipients(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		require.Equal(t, http.StatusOK, b.post(t, textAs("wamid.phone", 1750000000, kerryPhone, "", "from my phone")))
		require.Equal(t, http.StatusOK, b.post(t, textAs("wamid.bsuid", 1750000010, "", kerryBSUID, "from my username")))
		cs := contacts(t, b)
		require.Len(t, cs, 2)
		byPhone, byUser := cs[0], cs[1]
		sent := time.Now()
		recipient := func(name string, contacts ...string) (string, []string) {
			bc := db.Client.Broadcast.Create().SetName(name).SetAudience(schematype.BroadcastAudience{}).SetCategory("MARKETING").SaveX(b.ctx)
			var ids []string
			for i, c := range contacts {
				ids = append(ids, db.Client.BroadcastRecipient.Create().SetBroadcastID(bc.ID).SetContactID(c).SetPosition(i).
					SetState(broadcastrecipient.StateSENT).SetMarketing(true).SetAttemptedAt(sent).SaveX(b.ctx).ID)
			}
			return bc.ID, ids
		}
		_, onlyUser := recipient("spring", byUser.ID)
		_, both := recipient("summer", byPhone.ID, byUser.ID)

		require.Equal(t, http.StatusOK, b.post(t, textAs("wamid.both", 1750000020, kerryPhone, kerryBSUID, "both")))
		require.Len(t, contacts(t, b), 1, "merged")
		contactOf := func(id string) string { return db.Client.BroadcastRecipient.GetX(b.ctx, id).ContactID }
		require.Equal(t, byPhone.ID, contactOf(onlyUser[0]), "the absorbed contact's send is the survivor's")
		require.Equal(t, byPhone.ID, contactOf(both[0]))
		require.Equal(t, byUser.ID, contactOf(both[1]), "one row per contact and broadcast: the absorbed one's stays")
		n, err := db.Client.BroadcastRecipient.Query().Where(broadcastrecipient.ContactID(byPhone.ID), broadcastrecipient.Marketing(true)).Count(b.ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n, "the cap counts both broadcasts for the merged person")
	})
}

// A phone number passed to another person (Meta gives the new holder
// another BSUID) joins nobody: a message from the phone with a new BSUID is
// the new person's, and the earlier person keeps their contact and history,
// addressed by their BSUID; nothing is merged.
func TestARecycledPhoneMergesNobody(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		const newcomer = "US.22222222222222222222"
		require.Equal(t, http.StatusOK, b.post(t, textAs("wamid.old", 1750000000, kerryPhone, kerryBSUID, "the earlier holder")))
		require.Equal(t, http.StatusOK, b.post(t, textAs("wamid.new", 1750000010, "", newcomer, "the newcomer, username only")))
		require.Len(t, contacts(t, b), 2)
		require.Equal(t, http.StatusOK, b.post(t, textAs("wamid.both", 1750000020, kerryPhone, newcomer, "the newcomer, with the phone")))
		cs := contacts(t, b)
		require.Len(t, cs, 2, "two people stay two contacts")
		earlier, now := cs[0], cs[1]
		require.Equal(t, kerryBSUID, *earlier.UserID)
		require.Equal(t, kerryBSUID, earlier.WaID, "the earlier holder is addressed by their BSUID")
		require.Empty(t, earlier.Phone, "the phone is no longer theirs")
		require.Equal(t, newcomer, *now.UserID)
		require.Equal(t, kerryPhone, now.WaID)
		require.Equal(t, earlier.ID, conversationOf(t, b, "wamid.old").ContactID, "the earlier history stays theirs")
		require.Equal(t, now.ID, conversationOf(t, b, "wamid.both").ContactID)
		require.Zero(t, db.Client.AuditEvent.Query().Where(auditevent.Action(audit.ActionContactMerged)).CountX(b.ctx))
	})
}

func kindOf(t *testing.T, e realtime.Event) string {
	t.Helper()
	var c realtime.Change
	require.NoError(t, json.Unmarshal(e.Data, &c))
	return c.Kind
}

// A customer who changes to a number already known as another contact was
// that contact too: the two are merged, the history of both kept
// (defect 2: "user changed number").
func TestChangedNumberToAKnownContactMerges(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		require.Equal(t, http.StatusOK, b.post(t, textAs("wamid.old", 1750000000, kerryPhone, "", "old phone")))
		require.Equal(t, http.StatusOK, b.post(t, textAs("wamid.new", 1750000005, "16505550000", "", "new phone, before the notice")))
		require.Len(t, contacts(t, b), 2)
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.sys", 1750000010, "system",
			`{"body":"Kerry Fisher changed their phone number to a new number","wa_id":"16505550000","type":"user_changed_number"}`)))
		cs := contacts(t, b)
		require.Len(t, cs, 1)
		require.Equal(t, "16505550000", cs[0].WaID)
		require.Equal(t, "+16505550000", cs[0].Phone)
		for _, wamid := range []string{"wamid.old", "wamid.new", "wamid.sys"} {
			require.Equal(t, cs[0].ID, conversationOf(t, b, wamid).ContactID, wamid)
		}
	})
}

// A status of a message sent to a customer known by phone carries their
// business-scoped id (recipient_user_id, Meta's 2026 statuses): the contact
// learns it, and the customer's later messages under a username (BSUID
// only) land in the same conversation.
func TestStatusTeachesTheRecipientsBSUID(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		require.Equal(t, http.StatusOK, b.post(t, textAs("wamid.in", 1750000000, kerryPhone, "", "hello")))
		conv := conversationOf(t, b, "wamid.in")
		_, err := db.Client.Message.Create().SetConversationID(conv.ID).SetNumberID(b.num.ID).SetDirection(message.DirectionOUTBOUND).
			SetStatus(message.StatusQUEUED).SetProviderMessageID("wamid.out").Save(b.ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, b.post(t, []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"1122334455667"},
"contacts":[{"profile":{"name":"Kerry Fisher"},"wa_id":"`+kerryPhone+`","user_id":"`+kerryBSUID+`"}],
"statuses":[{"id":"wamid.out","status":"delivered","timestamp":"1750000010","recipient_id":"`+kerryPhone+`","recipient_user_id":"`+kerryBSUID+`"}]}}]}]}`)))
		cs := contacts(t, b)
		require.Len(t, cs, 1)
		require.NotNil(t, cs[0].UserID)
		require.Equal(t, kerryBSUID, *cs[0].UserID)
		require.Equal(t, http.StatusOK, b.post(t, textAs("wamid.later", 1750000020, "", kerryBSUID, "now with a username")))
		require.Equal(t, conv.ID, conversationOf(t, b, "wamid.later").ID)
		require.Len(t, contacts(t, b), 1)
	})
}
