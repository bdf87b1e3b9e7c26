package broadcast_test

import (
	"log/slog"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/broadcast"
	entbroadcast "github.com/switchboard-dev/switchboard/ent/broadcast"
	"github.com/switchboard-dev/switchboard/ent/broadcastrecipient"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/viewer"
)

// A send whose outcome was lost is sent again only once no status could
// still tell it was accepted: past the horizon, a webhook delivery received
// before the horizon and not yet ingested (the ingest lags behind a
// backlog) may carry its status, so the recipient waits for it; once it
// is ingested without naming the send, the recipient is sent again.
func TestReconcileWaitsForTheIngestBacklog(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, d, 3)
			num := b.numbers[0]
			bc := b.scheduled(t, schematype.BroadcastAudience{TagsAll: []string{"VIP"}}, false)
			require.NoError(t, b.client.Broadcast.UpdateOneID(bc.ID).SetState(entbroadcast.StateSENDING).Exec(b.ctx))
			conv, err := b.client.Conversation.Query().Where(conversation.NumberID(num.ID)).First(b.ctx)
			require.NoError(t, err)
			msg, err := b.client.Message.Create().SetConversationID(conv.ID).SetNumberID(num.ID).
				SetDirection(message.DirectionOUTBOUND).SetStatus(message.StatusQUEUED).SetKind(message.KindTEXT).
				SetBody("hello").SetAttempts(1).Save(b.ctx)
			require.NoError(t, err)
			r, err := b.client.BroadcastRecipient.Create().SetBroadcastID(bc.ID).SetContactID(conv.ContactID).
				SetNumberID(num.ID).SetPosition(0).SetState(broadcastrecipient.StateSENDING).SetMessageID(msg.ID).
				SetAttemptedAt(b.clock.Now().Add(-time.Hour)).Save(b.ctx)
			require.NoError(t, err)
			// received a second ago, not yet ingested
			delivery, err := b.client.WebhookDelivery.Create().SetBody([]byte(`{}`)).
				SetCreatedAt(time.Now().Add(-time.Second)).Save(viewer.Platform(b.ctx))
			require.NoError(t, err)

			disp := &broadcast.Dispatcher{Client: b.client, Clock: b.clock, Log: slog.Default()}
			const horizon = time.Millisecond
			_, err = disp.Settle(b.ctx, bc.ID, num.ID, horizon) // starts listening
			require.NoError(t, err)
			time.Sleep(10 * horizon)
			waiting, err := disp.Settle(b.ctx, bc.ID, num.ID, horizon)
			require.NoError(t, err)
			require.Equal(t, 1, waiting, "the backlog may hold the send's status")
			state := func() broadcastrecipient.State {
				got, err := b.client.BroadcastRecipient.Get(b.ctx, r.ID)
				require.NoError(t, err)
				return got.State
			}
			require.Equal(t, broadcastrecipient.StateSENDING, state())

			// ingested: it did not name the send
			require.NoError(t, b.client.WebhookDelivery.UpdateOneID(delivery.ID).SetState(webhookdelivery.StatePROCESSED).
				SetAttempts(1).Exec(viewer.Platform(b.ctx)))
			waiting, err = disp.Settle(b.ctx, bc.ID, num.ID, horizon)
			require.NoError(t, err)
			require.Zero(t, waiting)
			require.Equal(t, broadcastrecipient.StatePENDING, state(), "no status came: sent again")
		})
	}
}
