package connector_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/groupwebhookevent"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// groupWebhook is a group webhook of the reference: the number in
// value.metadata, the events in value.groups[].
func groupWebhook(field, phoneNumberID, group string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1750000100,"changes":[{"field":"` + field + `",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"` + phoneNumberID + `"},
"groups":[` + group + `]}}]}]}`)
}

// Group webhooks are routed by their phone_number_id to the number and kept
// there once each, never UNROUTED (defect 10).
func TestGroupWebhooksAreRoutedAndKept(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		bodies := [][]byte{
			groupWebhook("group_lifecycle_update", "1122334455667", `{"timestamp":"1750000000","group_id":"Y2FwaV9ncm91cDoxNzA1","type":"group_create","request_id":"req-1","subject":"Launch"}`),
			groupWebhook("group_participants_update", "1122334455667", `{"timestamp":"1750000010","group_id":"Y2FwaV9ncm91cDoxNzA1","type":"group_participants_add","reason":"invite_link","added_participants":[{"input":"16505551234","wa_id":"16505551234"}]}`),
			groupWebhook("group_settings_update", "1122334455667", `{"timestamp":"1750000020","group_id":"Y2FwaV9ncm91cDoxNzA1","type":"group_settings_update","request_id":"req-2","group_subject":{"text":"Launch 2","update_successful":true}}`),
			groupWebhook("group_status_update", "1122334455667", `{"timestamp":"1750000030","group_id":"Y2FwaV9ncm91cDoxNzA1","type":"group_suspend"}`),
		}
		for range 2 { // delivered twice: stored once
			for _, body := range bodies {
				require.Equal(t, http.StatusOK, b.post(t, body))
			}
		}
		pctx := viewer.Platform(t.Context())
		ds, err := db.Client.WebhookDelivery.Query().All(pctx)
		require.NoError(t, err)
		require.Len(t, ds, 8)
		for _, d := range ds {
			require.Equal(t, webhookdelivery.StatePROCESSED, d.State, d.Error)
		}
		evs, err := db.Client.GroupWebhookEvent.Query().Order(ent.Asc(groupwebhookevent.FieldOccurredAt)).All(b.ctx)
		require.NoError(t, err)
		require.Len(t, evs, 4)
		require.Equal(t, "group_lifecycle_update", evs[0].Field)
		require.Equal(t, "group_create", evs[0].Type)
		require.Equal(t, "req-1", evs[0].RequestID)
		require.Equal(t, "Y2FwaV9ncm91cDoxNzA1", evs[1].GroupID)
		require.Equal(t, "group_participants_add", evs[1].Type)
		require.Equal(t, "group_status_update", evs[3].Field)
		require.Equal(t, b.num.ID, evs[3].NumberID)
	})
}

// A delivery for a number not linked yet is UNROUTED; linking a number with
// that phone number id replays it, and it is ingested (defect 7).
func TestUnroutedDeliveryIsReplayedWhenItsNumberIsLinked(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550009999","phone_number_id":"999000111"},
"contacts":[{"profile":{"name":"Kerry Fisher"},"wa_id":"16505551234"}],
"messages":[{"from":"16505551234","id":"wamid.early","timestamp":"1750000000","type":"text","text":{"body":"anyone?"}}]}}]}]}`)
		require.Equal(t, http.StatusOK, b.post(t, body))
		pctx := viewer.Platform(t.Context())
		d, err := db.Client.WebhookDelivery.Query().Only(pctx)
		require.NoError(t, err)
		require.Equal(t, webhookdelivery.StateUNROUTED, d.State)

		r := &connector.Replayer{}
		require.NoError(t, store.WithTx(b.ctx, db.Client, func(ctx context.Context, tx *ent.Tx) error {
			if _, err := tx.Number.Create().SetPhone("+15550009999").SetDisplayName("Second").SetPhoneNumberID("999000111").
				SetVerifiedAt(time.Now()).Save(ctx); err != nil {
				return err
			}
			return r.NumberLinked(ctx, tx, "999000111")
		}))
		require.Equal(t, []string{d.ID}, unclaimed(t, db))
		require.NoError(t, b.ingester.Process(t.Context(), d.ID))
		d, err = db.Client.WebhookDelivery.Get(pctx, d.ID)
		require.NoError(t, err)
		require.Equal(t, webhookdelivery.StatePROCESSED, d.State)
		ok, err := db.Client.Message.Query().Where(message.ProviderMessageID("wamid.early")).Exist(b.ctx)
		require.NoError(t, err)
		require.True(t, ok, "the early message is ingested once its number is linked")
	})
}

// A delivery with items for a linked number and for one not linked yet is
// PROCESSED for the first; linking the second replays it, and its items
// are ingested, those of the first not twice.
func TestPartlyRoutedDeliveryIsReplayedWhenTheMissingNumberIsLinked(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		change := func(display, phoneNumberID, wamid string) string {
			return `{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"` + display + `","phone_number_id":"` + phoneNumberID + `"},
"contacts":[{"profile":{"name":"Kerry Fisher"},"wa_id":"16505551234","user_id":"US.13491208655302741918"}],
"messages":[{"from":"16505551234","from_user_id":"US.13491208655302741918","id":"` + wamid + `","timestamp":"1750000000","type":"text","text":{"body":"hello"}}]}}`
		}
		body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[` +
			change("972123456789", "1122334455667", "wamid.routed") + `,` + change("15550009999", "999000111", "wamid.later") + `]}]}`)
		require.Equal(t, http.StatusOK, b.post(t, body))
		pctx := viewer.Platform(t.Context())
		d, err := db.Client.WebhookDelivery.Query().Only(pctx)
		require.NoError(t, err)
		require.Equal(t, webhookdelivery.StatePROCESSED, d.State)
		require.Equal(t, []string{"999000111"}, d.UnroutedPhoneNumberIds)

		r := &connector.Replayer{}
		require.NoError(t, store.WithTx(b.ctx, db.Client, func(ctx context.Context, tx *ent.Tx) error {
			if _, err := tx.Number.Create().SetPhone("+15550009999").SetDisplayName("Second").SetPhoneNumberID("999000111").
				SetVerifiedAt(time.Now()).Save(ctx); err != nil {
				return err
			}
			return r.NumberLinked(ctx, tx, "999000111")
		}))
		require.Equal(t, []string{d.ID}, unclaimed(t, db), "the partly routed delivery is replayed")
		require.NoError(t, b.ingester.Process(t.Context(), d.ID))
		d, err = db.Client.WebhookDelivery.Get(pctx, d.ID)
		require.NoError(t, err)
		require.Equal(t, webhookdelivery.StatePROCESSED, d.State)
		require.Empty(t, d.UnroutedPhoneNumberIds)
		for _, wamid := range []string{"wamid.routed", "wamid.later"} {
			n, err := db.Client.Message.Query().Where(message.ProviderMessageID(wamid)).Count(b.ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n, wamid)
		}
		// linked again (a new phone number id given to another number): nothing left to replay
		require.NoError(t, store.WithTx(b.ctx, db.Client, func(ctx context.Context, tx *ent.Tx) error {
			return r.NumberLinked(ctx, tx, "999000111")
		}))
		require.Empty(t, unclaimed(t, db))
	})
}

// A reaction links to its message and shows on it; a newer reaction replaces
// it and an empty emoji removes it (defect 5).
func TestReactionLinksToItsMessageAndCanBeRemoved(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.target", 1750000000, "text", `{"body":"hello"}`)))
		target, err := db.Client.Message.Query().Where(message.ProviderMessageID("wamid.target")).Only(b.ctx)
		require.NoError(t, err)
		current := func() []string {
			rs, err := db.Client.Message.Query().Where(message.ReactionToID(target.ID), message.DeletedAtIsNil()).All(b.ctx)
			require.NoError(t, err)
			var out []string
			for _, r := range rs {
				out = append(out, r.Body)
			}
			return out
		}
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.r1", 1750000010, "reaction", `{"message_id":"wamid.target","emoji":"\ud83d\udc4d"}`)))
		require.Equal(t, []string{"\U0001F44D"}, current())
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.r2", 1750000020, "reaction", `{"message_id":"wamid.target","emoji":"\u2764\ufe0f"}`)))
		require.Equal(t, []string{"\u2764\ufe0f"}, current(), "the newer reaction replaces the older")
		// an older reaction delivered late does not come back
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.r0", 1750000005, "reaction", `{"message_id":"wamid.target","emoji":"\ud83d\ude02"}`)))
		require.Equal(t, []string{"\u2764\ufe0f"}, current())
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.r3", 1750000030, "reaction", `{"message_id":"wamid.target","emoji":""}`)))
		require.Empty(t, current(), "an empty emoji removes the reaction")
	})
}

// A customer who adopted a username may come without a phone: the message is
// ingested, the contact is addressed by their business-scoped user id and
// has no phone; a message with neither id is left out with its reason, not
// retried (defect 2, the refusal).
func TestCustomerKnownOnlyByBSUID(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"1122334455667"},
"contacts":[{"profile":{"name":"Sam","username":"@sam.codes"},"user_id":"US.13491208655302741918"}],
"messages":[{"from_user_id":"US.13491208655302741918","id":"wamid.bsuid","timestamp":"1750000000","type":"text","text":{"body":"hi, no phone"}},
 {"id":"wamid.nobody","timestamp":"1750000001","type":"text","text":{"body":"who?"}}]}}]}]}`)
		require.Equal(t, http.StatusOK, b.post(t, body))
		m, err := db.Client.Message.Query().Where(message.ProviderMessageID("wamid.bsuid")).WithConversation().Only(b.ctx)
		require.NoError(t, err)
		c, err := db.Client.Contact.Get(b.ctx, m.Edges.Conversation.ContactID)
		require.NoError(t, err)
		require.Equal(t, "US.13491208655302741918", c.WaID)
		require.Empty(t, c.Phone, "a BSUID reveals no phone")
		require.Equal(t, "Sam", c.ProfileName)
		d, err := db.Client.WebhookDelivery.Query().Only(viewer.Platform(t.Context()))
		require.NoError(t, err)
		require.Equal(t, webhookdelivery.StatePROCESSED, d.State)
		require.Contains(t, d.Error, "message 1 (wamid.nobody): message without its customer")
	})
}

// historyWebhook is a history webhook of the coexistence reference: a
// chunk with one thread (the customer's wa_id) holding both sides' messages.
const historyWebhook = `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"history",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"1122334455667"},
"history":[{"metadata":{"phase":0,"chunk_order":1,"progress":100},"threads":[{"id":"16505551234","messages":[
 {"from":"16505551234","id":"wamid.h1","timestamp":"1740000000","type":"text","text":{"body":"Do you deliver?"},"history_context":{"status":"READ"}},
 {"from":"972123456789","to":"16505551234","id":"wamid.h2","timestamp":"1740000060","type":"text","text":{"body":"Yes, on Fridays"},"history_context":{"status":"READ"}},
 {"from":"16505551234","id":"wamid.h3","timestamp":"nope","type":"text","text":{"body":"bad"}}]}]}]}}]}]}`

// History webhooks (coexistence) are stored as the conversation's past, both
// sides, not dropped: no unread count, the clocks from the messages' own
// times; the bad item is named.
func TestHistoryIsStoredAsThePast(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		for range 2 {
			require.Equal(t, http.StatusOK, b.post(t, []byte(historyWebhook)))
		}
		in, err := db.Client.Message.Query().Where(message.ProviderMessageID("wamid.h1")).Only(b.ctx)
		require.NoError(t, err)
		require.Equal(t, message.DirectionINBOUND, in.Direction)
		out, err := db.Client.Message.Query().Where(message.ProviderMessageID("wamid.h2")).Only(b.ctx)
		require.NoError(t, err)
		require.Equal(t, message.DirectionOUTBOUND, out.Direction)
		require.Equal(t, message.StatusREAD, out.Status)
		require.Equal(t, "Yes, on Fridays", out.Body)
		require.Equal(t, in.ConversationID, out.ConversationID)
		conv := conversationOf(t, b, "wamid.h2")
		require.Equal(t, 0, conv.UnreadCount)
		require.Equal(t, out.ID, *conv.LastMessageID)
		require.True(t, conv.LastCustomerMessageAt.Equal(in.CreatedAt))
		n, err := db.Client.Message.Query().Count(b.ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		ds, err := db.Client.WebhookDelivery.Query().All(viewer.Platform(t.Context()))
		require.NoError(t, err)
		require.Contains(t, ds[0].Error, "history 0, thread 0, message 2 (wamid.h3)")
	})
}

// The typing indicator reaches the Cloud API as Meta documents it (a read of
// the customer's last message with typing_indicator), at most once per
// TypingEvery per conversation: calls in between are absorbed.
func TestTypingIndicatorIsRateLimited(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		var bodies []string
		var mu sync.Mutex
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, r.URL.Path+" "+string(body))
			mu.Unlock()
			_, _ = io.WriteString(w, `{"success":true}`)
		}))
		t.Cleanup(api.Close)
		box, err := credential.NewBox([]byte("secret for tests"))
		require.NoError(t, err)
		sealed, err := box.Seal(credential.Credentials{AccessToken: "token"}, b.num.ID)
		require.NoError(t, err)
		require.NoError(t, b.num.Update().SetCredentials(sealed).Exec(b.ctx))
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.ask", 1750000000, "text", `{"body":"are you there?"}`)))
		conv := conversationOf(t, b, "wamid.ask")

		clk := clock.NewFake(time.Unix(1750000100, 0))
		typing := &connector.Typing{Client: db.Client, API: connector.Providers{Cloud: &whatsapp.Client{BaseURL: api.URL}}, Box: box,
			Clock: clk, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		for i, want := range []bool{true, false, false} {
			ok, err := typing.Indicate(b.ctx, conv.ID)
			require.NoError(t, err)
			require.Equal(t, want, ok, "call %d", i)
			clk.Advance(3 * time.Second)
		}
		clk.Advance(connector.TypingEvery)
		ok, err := typing.Indicate(b.ctx, conv.ID)
		require.NoError(t, err)
		require.True(t, ok, "after TypingEvery it goes again")
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, bodies, 2)
		require.JSONEq(t, `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.ask","typing_indicator":{"type":"text"}}`,
			bodies[0][strings.Index(bodies[0], "{"):])
		require.Contains(t, bodies[0], "1122334455667/messages ")
		_, err = typing.Indicate(b.ctx, "cnv_01J0000000000000000000000")
		require.True(t, ent.IsNotFound(err))
	})
}

// "User changed number": the contact moves to the new number with its
// history; the customer's next message, from the new number, lands in the
// same conversation (defect 2).
func TestContactFollowsAChangedNumber(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.before", 1750000000, "text", `{"body":"old phone"}`)))
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.sys", 1750000010, "system",
			`{"body":"Kerry Fisher changed their phone number to a new number","wa_id":"16505550000","type":"user_changed_number"}`)))
		before := conversationOf(t, b, "wamid.before")
		c, err := db.Client.Contact.Get(b.ctx, before.ContactID)
		require.NoError(t, err)
		require.Equal(t, "16505550000", c.WaID)
		require.Equal(t, "+16505550000", c.Phone)
		body := []byte(strings.ReplaceAll(string(inboundAt("wamid.after", 1750000020, "text", `{"body":"new phone"}`)), "16505551234", "16505550000"))
		require.Equal(t, http.StatusOK, b.post(t, body))
		require.Equal(t, before.ID, conversationOf(t, b, "wamid.after").ID, "the same conversation")
	})
}
