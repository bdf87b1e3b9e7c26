package connector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/tenant"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

var secret = []byte("app secret for tests")

// testBundle is a tenant with the samples' number, the webhook endpoint and
// an ingester that processes each stored delivery at once.
type testBundle struct {
	db       *store.DB
	ctx      context.Context // the tenant's system viewer
	num      *ent.Number
	hook     *connector.Webhook
	ingester *connector.Ingester
	bus      realtime.Bus
}

func setup(t *testing.T, db *store.DB) *testBundle {
	t.Helper()
	ten, _, err := tenant.Create(t.Context(), db.Client, tenant.Input{
		Name: "Acme", Slug: "acme", OwnerName: "O", OwnerEmail: "o@acme.test", OwnerPassword: "long enough pw",
	})
	require.NoError(t, err)
	ctx := viewer.System(t.Context(), ten.ID)
	num, err := db.Client.Number.Create().SetPhone("+972123456789").SetDisplayName("Main").
		SetPhoneNumberID("1122334455667").SetWabaID("102290129340398").SetStatus(number.StatusCONNECTED).
		SetVerifiedAt(time.Now()).Save(ctx)
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus := realtime.NewMemory()
	b := &testBundle{db: db, ctx: ctx, num: num, bus: bus, ingester: connector.NewIngester(db.Client, db.Dialect, realtime.NewPublisher(bus, log), clock.Real(), log)}
	// no eager ingest: post ingests what the endpoint stored
	b.hook = &connector.Webhook{Client: db.Client, AppSecret: secret, VerifyToken: "verify-me", Log: log}
	return b
}

// unclaimed returns the ids of the deliveries RECEIVED and neither held nor
// waiting: those just stored or replayed, which a sweep would take at once.
func unclaimed(t *testing.T, db *store.DB) []string {
	t.Helper()
	ids, err := db.Client.WebhookDelivery.Query().Where(webhookdelivery.StateEQ(webhookdelivery.StateRECEIVED),
		webhookdelivery.DueAtIsNil()).Order(ent.Asc(webhookdelivery.FieldCreatedAt)).IDs(viewer.Platform(t.Context()))
	require.NoError(t, err)
	return ids
}

// deliver signs and posts body to the webhook endpoint, and returns its
// answer; nothing is ingested.
func (b *testBundle) deliver(body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign(secret, body))
	rec := httptest.NewRecorder()
	b.hook.ServeHTTP(rec, req)
	return rec
}

// post signs and posts body, then processes what was stored.
func (b *testBundle) post(t *testing.T, body []byte) int {
	t.Helper()
	rec := b.deliver(body)
	for _, id := range unclaimed(t, b.db) {
		err := b.ingester.Process(t.Context(), id)
		if err != nil && err != connector.ErrStatusBeforeSend {
			require.NoError(t, err)
		}
	}
	return rec.Code
}

func samples(t *testing.T, file string) map[string]json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "fixtures", file))
	require.NoError(t, err)
	var cases map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &cases))
	return cases
}

// withMessageID gives the sample's messages an id of their own (the samples
// share one).
func withMessageID(t *testing.T, body json.RawMessage, id string) []byte {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(body, &v))
	for _, e := range v["entry"].([]any) {
		for _, ch := range e.(map[string]any)["changes"].([]any) {
			if ms, ok := ch.(map[string]any)["value"].(map[string]any)["messages"].([]any); ok {
				for _, m := range ms {
					m.(map[string]any)["id"] = id
				}
			}
		}
	}
	out, err := json.Marshal(v)
	require.NoError(t, err)
	return out
}

func TestIngestEverySample(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		want := map[string]message.Kind{
			"text": message.KindTEXT, "image": message.KindIMAGE, "media_with_url": message.KindIMAGE,
			"video": message.KindVIDEO, "document": message.KindDOCUMENT, "audio": message.KindAUDIO,
			"voice": message.KindAUDIO, "static_sticker": message.KindSTICKER, "animated_sticker": message.KindSTICKER,
			"reaction": message.KindREACTION, "unreaction_empty": message.KindREACTION, "unreaction_no_emoji": message.KindREACTION,
			"current_location": message.KindLOCATION, "chosen_location": message.KindLOCATION, "contacts": message.KindCONTACTS,
			"order": message.KindORDER, "unsupported": message.KindUNSUPPORTED, "unsupported_with_type": message.KindUNSUPPORTED,
			"reply": message.KindTEXT, "forwarded": message.KindTEXT, "forwarded_many_times": message.KindTEXT,
			"interactive_message_with_err": message.KindINTERACTIVE, "referral": message.KindTEXT,
		}
		all := map[string]json.RawMessage{}
		for _, f := range []string{"message.json", "callback_button.json", "callback_selection.json", "system.json"} {
			for name, body := range samples(t, f) {
				all[f+"/"+name] = body
				if _, ok := want[name]; !ok {
					want[name] = map[string]message.Kind{"callback_button.json": message.KindINTERACTIVE,
						"callback_selection.json": message.KindINTERACTIVE, "system.json": message.KindSYSTEM}[f]
				}
			}
		}
		for key, body := range all {
			require.Equal(t, http.StatusOK, b.post(t, withMessageID(t, body, "wamid."+key)), key)
		}
		for key := range all {
			name := key[bytes.IndexByte([]byte(key), '/')+1:]
			m, err := db.Client.Message.Query().Where(message.ProviderMessageID("wamid." + key)).Only(b.ctx)
			require.NoError(t, err, key)
			require.Equal(t, want[name], m.Kind, key)
			require.Equal(t, message.DirectionINBOUND, m.Direction, key)
			require.NotEmpty(t, m.Content, "the raw message is kept: %s", key)
		}
		text, err := db.Client.Message.Query().Where(message.ProviderMessageID("wamid.message.json/text")).
			WithConversation(func(q *ent.ConversationQuery) { q.WithContact() }).Only(b.ctx)
		require.NoError(t, err)
		require.NotEmpty(t, text.Body)
		require.NotEmpty(t, text.Edges.Conversation.Edges.Contact.ProfileName, "the contact carries the profile name")
		image, err := db.Client.Message.Query().Where(message.ProviderMessageID("wamid.message.json/image")).Only(b.ctx)
		require.NoError(t, err)
		require.NotEmpty(t, image.Media.ID, "media keeps its provider reference")

		// Meta delivers twice: nothing changes.
		before, err := db.Client.Message.Query().Count(b.ctx)
		require.NoError(t, err)
		for key, body := range all {
			require.Equal(t, http.StatusOK, b.post(t, withMessageID(t, body, "wamid."+key)), key)
		}
		after, err := db.Client.Message.Query().Count(b.ctx)
		require.NoError(t, err)
		require.Equal(t, before, after)
	})
}

// Meta redelivers what it already delivered: the replay reopens nothing,
// counts nothing unread and touches neither the conversation nor the contact.
func TestReplayedWebhookChangesNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		body := withMessageID(t, samples(t, "message.json")["text"], "wamid.replayed")
		require.Equal(t, http.StatusOK, b.post(t, body))
		in, err := db.Client.Message.Query().Where(message.ProviderMessageID("wamid.replayed")).Only(b.ctx)
		require.NoError(t, err)
		require.NoError(t, db.Client.Conversation.UpdateOneID(in.ConversationID).
			SetStatus(conversation.StatusRESOLVED).SetResolvedAt(time.Now()).Exec(b.ctx))
		rows := func() (conv, contact string) {
			c, err := db.Client.Conversation.Query().Where(conversation.ID(in.ConversationID)).WithContact().Only(b.ctx)
			require.NoError(t, err)
			ct := c.Edges.Contact
			c.Edges = ent.ConversationEdges{}
			convRow, err := json.Marshal(c)
			require.NoError(t, err)
			contactRow, err := json.Marshal(ct)
			require.NoError(t, err)
			return string(convRow), string(contactRow)
		}
		conv, contact := rows()
		require.Contains(t, conv, `"status":"RESOLVED"`)
		require.Contains(t, conv, `"unread_count":1`)
		require.Contains(t, conv, `"last_message_at":"`)

		require.Equal(t, http.StatusOK, b.post(t, body))
		convAfter, contactAfter := rows()
		require.JSONEq(t, conv, convAfter, "status, unread count and last message time are as before")
		require.JSONEq(t, contact, contactAfter)
	})
}

func TestStatusesOnlyMoveForward(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		s := samples(t, "message_status.json")
		// The message the samples' statuses are about, as sent.
		b.post(t, withMessageID(t, samples(t, "message.json")["text"], "wamid.in"))
		in, err := db.Client.Message.Query().Where(message.ProviderMessageID("wamid.in")).Only(b.ctx)
		require.NoError(t, err)
		out, err := db.Client.Message.Create().SetConversationID(in.ConversationID).SetNumberID(b.num.ID).
			SetDirection(message.DirectionOUTBOUND).SetStatus(message.StatusSENT).SetBody("hi").
			SetProviderMessageID(statusID(t, s["read"])).Save(b.ctx)
		require.NoError(t, err)
		reload := func() *ent.Message {
			m, err := db.Client.Message.Get(b.ctx, out.ID)
			require.NoError(t, err)
			return m
		}
		b.post(t, s["read"]) // read without delivered
		require.Equal(t, message.StatusREAD, reload().Status)
		require.NotNil(t, reload().ReadAt)
		b.post(t, s["delivered"]) // late
		b.post(t, s["sent"])
		b.post(t, s["failed"])
		require.Equal(t, message.StatusREAD, reload().Status, "statuses never move back")

		// A message that fails before delivery records why.
		require.NoError(t, db.Client.Message.UpdateOneID(out.ID).SetStatus(message.StatusSENT).ClearReadAt().Exec(b.ctx))
		b.post(t, s["failed"])
		m := reload()
		require.Equal(t, message.StatusFAILED, m.Status)
		require.NotNil(t, m.ErrorCode)
		require.NotEmpty(t, m.ErrorText)
	})
}

func statusID(t *testing.T, body json.RawMessage) string {
	n, err := whatsapp.Parse(body)
	require.NoError(t, err)
	return n.Changes[0].Statuses[0].MessageID
}

func TestAccountUpdatesSetTheNumberStatus(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		s := samples(t, "account_update.json")
		status := func() number.Status {
			n, err := db.Client.Number.Get(b.ctx, b.num.ID)
			require.NoError(t, err)
			return n.Status
		}
		for _, step := range []struct {
			sample string
			want   number.Status
		}{
			{"account_restriction", number.StatusRESTRICTED},
			{"account_reconnected", number.StatusCONNECTED},
			{"account_violation", number.StatusRESTRICTED},
			{"account_disabled", number.StatusCONNECTED}, // a REINSTATE
			{"account_offboarded", number.StatusDISCONNECTED},
		} {
			require.Equal(t, http.StatusOK, b.post(t, s[step.sample]))
			require.Equal(t, step.want, status(), step.sample)
		}
	})
}

func TestWebhookEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, "sqlite3"))
	body := withMessageID(t, samples(t, "message.json")["text"], "wamid.sig")

	for _, header := range []string{"", "sha256=00", whatsapp.Sign([]byte("another secret"), body)} {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/whatsapp", bytes.NewReader(body))
		if header != "" {
			req.Header.Set(whatsapp.SignatureHeader, header)
		}
		rec := httptest.NewRecorder()
		b.hook.ServeHTTP(rec, req)
		require.Equal(t, http.StatusUnauthorized, rec.Code, header)
	}
	require.EqualValues(t, 3, b.hook.Rejected())
	n, err := b.db.Client.WebhookDelivery.Query().Count(viewer.Platform(t.Context()))
	require.NoError(t, err)
	require.Zero(t, n, "nothing unsigned is stored")

	// The verification handshake.
	rec := httptest.NewRecorder()
	b.hook.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42", nil))
	require.Equal(t, "42", rec.Body.String())
	rec = httptest.NewRecorder()
	b.hook.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=42", nil))
	require.Equal(t, http.StatusForbidden, rec.Code)

	// A number nobody linked: kept and marked, not dropped.
	other := bytes.ReplaceAll(body, []byte("1122334455667"), []byte("9999999999"))
	require.Equal(t, http.StatusOK, b.post(t, other))
	d, err := b.db.Client.WebhookDelivery.Query().Only(viewer.Platform(t.Context()))
	require.NoError(t, err)
	require.Equal(t, webhookdelivery.StateUNROUTED, d.State)
	require.Equal(t, []string{"9999999999"}, d.PhoneNumberIds)
	require.Equal(t, other, d.Body, "the raw body is kept as signed")
}

// A status for a message we never sent (one sent from the business's phone
// app, say) keeps its delivery waiting, but takes nothing else of the change
// with it: the customer's message beside it is stored at once.
func TestUnknownStatusLosesNothingBesideIt(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		var body, st map[string]any
		require.NoError(t, json.Unmarshal(withMessageID(t, samples(t, "message.json")["text"], "wamid.beside"), &body))
		require.NoError(t, json.Unmarshal(samples(t, "message_status.json")["read"], &st))
		value := func(v map[string]any) map[string]any {
			return v["entry"].([]any)[0].(map[string]any)["changes"].([]any)[0].(map[string]any)["value"].(map[string]any)
		}
		statuses := value(st)["statuses"].([]any)
		statuses[0].(map[string]any)["id"] = "wamid.never-sent-here"
		value(body)["statuses"] = statuses
		raw, err := json.Marshal(body)
		require.NoError(t, err)

		require.Equal(t, http.StatusOK, b.post(t, raw))
		n, err := db.Client.Message.Query().Where(message.ProviderMessageID("wamid.beside")).Count(b.ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "the customer's message is stored while the status waits")
	})
}

// A status's pricing object is stored on its message (category, model,
// type, billable, and the status time as the month it counts in), from the
// first status that carries one, whatever order they arrive in; a status
// without pricing leaves the message unpriced.
func TestStatusPricingIsStoredPerMessage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.in", 1750000000, "text", `{"body":"hi"}`)))
		conv := conversationOf(t, b, "wamid.in")
		for _, id := range []string{"wamid.promo", "wamid.answer", "wamid.plain"} {
			_, err := db.Client.Message.Create().SetConversationID(conv.ID).SetNumberID(b.num.ID).SetDirection(message.DirectionOUTBOUND).
				SetStatus(message.StatusQUEUED).SetProviderMessageID(id).Save(b.ctx)
			require.NoError(t, err)
		}
		status := func(id, st string, ts int64, pricing string) []byte {
			if pricing != "" {
				pricing = `,"pricing":` + pricing
			}
			return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"1122334455667"},
"statuses":[{"id":%q,"status":%q,"timestamp":"%d","recipient_id":"16505551234"%s}]}}]}]}`, id, st, ts, pricing)
		}
		// read arrives first (delivered implied), then a late sent: the first pricing stays
		require.Equal(t, http.StatusOK, b.post(t, status("wamid.promo", "read", 1764547200, `{"billable":true,"pricing_model":"PMP","category":"marketing","type":"regular"}`)))
		require.Equal(t, http.StatusOK, b.post(t, status("wamid.promo", "sent", 1764547100, `{"billable":false,"pricing_model":"PMP","category":"utility","type":"free_customer_service"}`)))
		// PMP without the deprecated billable flag: a free_customer_service answer is not billed
		require.Equal(t, http.StatusOK, b.post(t, status("wamid.answer", "delivered", 1764547300, `{"pricing_model":"PMP","category":"service","type":"free_customer_service"}`)))
		require.Equal(t, http.StatusOK, b.post(t, status("wamid.plain", "sent", 1764547400, "")))

		get := func(id string) *ent.Message {
			m, err := db.Client.Message.Query().Where(message.ProviderMessageID(id)).Only(b.ctx)
			require.NoError(t, err)
			return m
		}
		promo := get("wamid.promo")
		require.Equal(t, "marketing", *promo.PricingCategory)
		require.Equal(t, "PMP", promo.PricingModel)
		require.Equal(t, "regular", promo.PricingType)
		require.True(t, *promo.Billable)
		require.True(t, promo.PricedAt.Equal(time.Unix(1764547200, 0)), "%v", promo.PricedAt)
		require.Equal(t, message.StatusREAD, promo.Status)
		answer := get("wamid.answer")
		require.Equal(t, "service", *answer.PricingCategory)
		require.False(t, *answer.Billable)
		plain := get("wamid.plain")
		require.Nil(t, plain.PricingCategory)
		require.Nil(t, plain.Billable)
		require.Nil(t, plain.PricedAt)
	})
}

// numberTold records the number each arrival's conversation carries.
type numberTold struct {
	mu      sync.Mutex
	numbers []*ent.Number
}

func (n *numberTold) Arrived(_ context.Context, _ *ent.Tx, conv *ent.Conversation, _ *ent.Message, _ bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if num := conv.Edges.Number; num != nil && num.ID == conv.NumberID {
		n.numbers = append(n.numbers, num)
	}
	return nil
}

// Arrivals are told the number the message came on, as the ingest read it,
// with its routing policy: routing needs no read of its own for a number
// routed by hand (routing.Service.Arrived).
func TestArrivalsAreToldTheNumber(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		told := &numberTold{}
		b.ingester.Arrivals = told
		require.Equal(t, http.StatusOK, b.post(t, inboundBatch("wamid.told", 3)))
		require.Len(t, told.numbers, 3, "each arrival carries its number")
		for _, num := range told.numbers {
			require.Equal(t, b.num.ID, num.ID)
			require.True(t, num.RoutingPolicy.Manual())
		}
	})
}
