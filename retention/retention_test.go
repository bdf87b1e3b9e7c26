package retention_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/auditevent"
	"github.com/switchboard-dev/switchboard/ent/groupwebhookevent"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/retention"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestRetentionPurgesOldContentOutsideLegalHolds: with a 30-day period, the
// content of older messages (and of the provider webhooks about the tenant's
// numbers) goes, newer ones and those under a legal hold stay, the rows stay
// as tombstones, and a run that purged something is audited once.
func TestRetentionPurgesOldContentOutsideLegalHolds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		pctx := viewer.Platform(t.Context())
		ten, err := db.Client.Tenant.Create().SetName("Acme").SetSlug("acme").
			SetSettings(schematype.TenantSettings{RetentionDays: 30}).Save(pctx)
		require.NoError(t, err)
		other, err := db.Client.Tenant.Create().SetName("Keeps").SetSlug("keeps").Save(pctx)
		require.NoError(t, err)
		ctx := viewer.System(t.Context(), ten.ID)
		num, err := db.Client.Number.Create().SetPhone("+33100000001").SetDisplayName("Sales").SetPhoneNumberID("555001").SetVerifiedAt(time.Now()).Save(ctx)
		require.NoError(t, err)

		conv := func(held, contactHeld bool, wa string) *ent.Conversation {
			cc := db.Client.Contact.Create().SetWaID(wa)
			if contactHeld {
				cc.SetLegalHoldAt(now).SetLegalHoldReason("claim")
			}
			ct, err := cc.Save(ctx)
			require.NoError(t, err)
			c := db.Client.Conversation.Create().SetNumberID(num.ID).SetContactID(ct.ID)
			if held {
				c.SetLegalHoldAt(now).SetLegalHoldReason("audit")
			}
			cv, err := c.Save(ctx)
			require.NoError(t, err)
			return cv
		}
		msg := func(c *ent.Conversation, age time.Duration, body string) *ent.Message {
			m, err := db.Client.Message.Create().SetConversationID(c.ID).SetNumberID(num.ID).SetDirection("INBOUND").
				SetStatus("RECEIVED").SetBody(body).SetCreatedAt(now.Add(-age)).Save(ctx)
			require.NoError(t, err)
			return m
		}
		plain, held, contactHeld := conv(false, false, "33600000001"), conv(true, false, "33600000002"), conv(false, true, "33600000003")
		old := msg(plain, 40*24*time.Hour, "old text")
		recent := msg(plain, 10*24*time.Hour, "recent text")
		oldHeld := msg(held, 40*24*time.Hour, "held text")
		oldContactHeld := msg(contactHeld, 40*24*time.Hour, "contact held text")
		hook := db.Client.WebhookDelivery.Create().SetBody([]byte(`{"text":"old text"}`)).SetState(webhookdelivery.StatePROCESSED).
			SetPhoneNumberIds([]string{"555001"}).SetCreatedAt(now.Add(-40 * 24 * time.Hour)).SaveX(pctx)
		foreign := db.Client.WebhookDelivery.Create().SetBody([]byte(`{"text":"someone else's"}`)).SetState(webhookdelivery.StatePROCESSED).
			SetPhoneNumberIds([]string{"777002"}).SetCreatedAt(now.Add(-40 * 24 * time.Hour)).SaveX(pctx)
		_ = other
		oldGroup := db.Client.GroupWebhookEvent.Create().SetNumberID(num.ID).SetField("group_participants_update").
			SetOccurredAt(now.Add(-40 * 24 * time.Hour)).SetDigest("old").SetPayload([]byte(`{"wa_id":"33600000009"}`)).SaveX(ctx)
		recentGroup := db.Client.GroupWebhookEvent.Create().SetNumberID(num.ID).SetField("group_participants_update").
			SetOccurredAt(now.Add(-10 * 24 * time.Hour)).SetDigest("recent").SaveX(ctx)

		svc := retention.New(db.Client, clock.NewFake(now))
		res, err := svc.Sweep(t.Context())
		require.NoError(t, err)
		require.Equal(t, []retention.Result{{TenantID: ten.ID, Messages: 1, Webhooks: 1, GroupEvents: 1}}, res, "only Acme has a period")
		require.False(t, db.Client.GroupWebhookEvent.Query().Where(groupwebhookevent.ID(oldGroup.ID)).ExistX(ctx), "an old group event goes")
		require.True(t, db.Client.GroupWebhookEvent.Query().Where(groupwebhookevent.ID(recentGroup.ID)).ExistX(ctx))

		body := func(m *ent.Message) string {
			got, err := db.Client.Message.Get(ctx, m.ID)
			require.NoError(t, err)
			return got.Body
		}
		require.Empty(t, body(old), "past the period: purged")
		require.Equal(t, "recent text", body(recent))
		require.Equal(t, "held text", body(oldHeld), "a legal hold on the conversation keeps it")
		require.Equal(t, "contact held text", body(oldContactHeld), "a legal hold on the contact keeps it")
		n, err := db.Client.Message.Query().Where(message.ConversationID(plain.ID)).Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n, "tombstones stay")
		require.Equal(t, retention.PurgedWebhookBody, db.Client.WebhookDelivery.GetX(pctx, hook.ID).Body)
		require.Equal(t, `{"text":"someone else's"}`, string(db.Client.WebhookDelivery.GetX(pctx, foreign.ID).Body), "another tenant's webhook")

		res, err = svc.Sweep(t.Context())
		require.NoError(t, err)
		require.Equal(t, []retention.Result{{TenantID: ten.ID}}, res, "nothing left to purge")
		audits, err := db.Client.AuditEvent.Query().Where(auditevent.Action("retention.purge")).Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, audits)
	})
}
