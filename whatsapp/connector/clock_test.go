package connector_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// inboundAt is a customer's message of the messages webhook reference (v23)
// with its provider timestamp and the type's own object.
func inboundAt(id string, ts int64, typ, object string) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"1122334455667"},
"contacts":[{"profile":{"name":"Kerry Fisher"},"wa_id":"16505551234"}],
"messages":[{"from":"16505551234","id":%q,"timestamp":"%d","type":%q,%q:%s}]}}]}]}`, id, ts, typ, typ, object)
}

func conversationOf(t *testing.T, b *testBundle, wamid string) *ent.Conversation {
	t.Helper()
	m, err := b.db.Client.Message.Query().Where(message.ProviderMessageID(wamid)).Only(b.ctx)
	require.NoError(t, err)
	c, err := b.db.Client.Conversation.Query().Where(conversation.ID(m.ConversationID)).Only(b.ctx)
	require.NoError(t, err)
	return c
}

// A message delivered late (older provider timestamp) does not move the
// conversation's clocks backwards: the customer's 24-hour window and the
// last message stay those of the newest message.
func TestLateMessageMovesNoClockBack(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		newer, older := int64(1750003600), int64(1750000000)
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.newer", newer, "text", `{"body":"second"}`)))
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.older", older, "text", `{"body":"first"}`)))
		c := conversationOf(t, b, "wamid.older")
		require.True(t, c.LastCustomerMessageAt.Equal(time.Unix(newer, 0)), "window from %v", c.LastCustomerMessageAt)
		require.True(t, c.LastMessageAt.Equal(time.Unix(newer, 0)))
		last, err := db.Client.Message.Get(b.ctx, *c.LastMessageID)
		require.NoError(t, err)
		require.Equal(t, "wamid.newer", *last.ProviderMessageID)
		require.Equal(t, 2, c.UnreadCount, "the late message is still unread")
	})
}

// A reaction raises no unread count, does not become the last message and
// does not reopen a resolved conversation.
func TestReactionIsNotAnUnreadMessage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.text", 1750000000, "text", `{"body":"hello"}`)))
		c := conversationOf(t, b, "wamid.text")
		require.NoError(t, db.Client.Conversation.UpdateOneID(c.ID).SetUnreadCount(0).
			SetStatus(conversation.StatusRESOLVED).SetResolvedAt(time.Now()).Exec(b.ctx))
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.reaction", 1750000060, "reaction",
			`{"message_id":"wamid.text","emoji":"\ud83d\udc4d"}`)))
		after := conversationOf(t, b, "wamid.reaction")
		require.Equal(t, 0, after.UnreadCount)
		require.Equal(t, c.LastMessageID, after.LastMessageID)
		require.Equal(t, conversation.StatusRESOLVED, after.Status)
	})
}

// A duplicate delivery is logged at INFO, so an operator sees why nothing
// appeared.
func TestDuplicateMessageIsLoggedAtInfo(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		b.ingester = connector.NewIngester(db.Client, db.Dialect, realtime.NewPublisher(realtime.NewMemory(), log), clock.Real(), log)
		body := inboundAt("wamid.twice", 1750000000, "text", `{"body":"hello"}`)
		require.Equal(t, http.StatusOK, b.post(t, body))
		require.NotContains(t, logs.String(), "duplicate")
		require.Equal(t, http.StatusOK, b.post(t, body))
		require.Contains(t, logs.String(), `level=INFO msg="whatsapp: duplicate message, already stored" wamid=wamid.twice`)
	})
}

// A status whose message never appears is kept waiting up to the horizon
// (maxStatusWaits processings), then given up: counted, logged and written
// on the delivery.
func TestStatusBeforeItsMessageIsGivenUpAtTheHorizon(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		b.ingester = connector.NewIngester(db.Client, db.Dialect, realtime.NewPublisher(realtime.NewMemory(), log), clock.Real(), log)
		body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"1122334455667"},
"statuses":[{"id":"wamid.never","status":"delivered","timestamp":"1750000000","recipient_id":"16505551234"}]}}]}]}`)
		require.Equal(t, http.StatusOK, b.post(t, body))
		pctx := viewer.Platform(t.Context())
		d, err := db.Client.WebhookDelivery.Query().Only(pctx)
		require.NoError(t, err)
		processings := 1 // the post's
		for processings < 20 {
			processings++
			err := b.ingester.Process(t.Context(), d.ID)
			if err == nil {
				break
			}
			require.ErrorIs(t, err, connector.ErrStatusBeforeSend)
			require.Zero(t, b.ingester.DroppedStatuses(), "kept pending before the horizon")
		}
		require.Equal(t, 9, processings, "8 waits, then given up")
		d, err = db.Client.WebhookDelivery.Get(pctx, d.ID)
		require.NoError(t, err)
		require.Equal(t, webhookdelivery.StatePROCESSED, d.State)
		require.Contains(t, d.Error, "given up after 8 waits")
		require.EqualValues(t, 1, b.ingester.DroppedStatuses())
		require.Contains(t, logs.String(), `level=WARN msg="whatsapp: statuses for messages never recorded, given up"`)
	})
}

// One bad item (a non-numeric timestamp, a status without its status) is
// recorded on the delivery with its reason; the valid messages and statuses
// beside it are ingested and the delivery is processed, not failed (defect 9).
func TestBadItemIsLeftOutTheRestIngested(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"1122334455667"},
"contacts":[{"profile":{"name":"Kerry Fisher"},"wa_id":"16505551234"}],
"messages":[
 {"from":"16505551234","id":"wamid.ok1","timestamp":"1750000000","type":"text","text":{"body":"first"}},
 {"from":"16505551234","id":"wamid.badts","timestamp":"tomorrow","type":"text","text":{"body":"odd"}},
 {"from":"16505551234","id":"wamid.ok2","timestamp":"1750000005","type":"text","text":{"body":"second"}}],
"statuses":[{"id":"wamid.nostatus","timestamp":"1750000000","recipient_id":"16505551234"}]}}]}]}`)
		require.Equal(t, http.StatusOK, b.post(t, body))
		pctx := viewer.Platform(t.Context())
		d, err := db.Client.WebhookDelivery.Query().Only(pctx)
		require.NoError(t, err)
		require.Equal(t, webhookdelivery.StatePROCESSED, d.State)
		require.Contains(t, d.Error, `2 item(s) left out`)
		require.Contains(t, d.Error, `message 1 (wamid.badts): timestamp "tomorrow" is not unix seconds`)
		require.Contains(t, d.Error, `status 0 (wamid.nostatus): status without message id or status`)
		n, err := db.Client.Message.Query().Where(message.ProviderMessageIDIn("wamid.ok1", "wamid.ok2")).Count(b.ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		bad, err := db.Client.Message.Query().Where(message.ProviderMessageID("wamid.badts")).Exist(b.ctx)
		require.NoError(t, err)
		require.False(t, bad)
	})
}
