package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/tenant"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Deliveries a killed instance stored and answered but never ingested (one
// its eager ingest held, whose lease has passed; one stored while every eager
// slot was taken) are ingested by the sweep of the App that starts next.
func TestStoredDeliveriesAreIngestedAfterARestart(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		pctx := viewer.Platform(t.Context())
		inbound := func(wamid string) []byte {
			return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"33600000001","phone_number_id":"100200300"},
"contacts":[{"profile":{"name":"Left"},"wa_id":"33700000001"}],
"messages":[{"from":"33700000001","id":%q,"timestamp":"1750000000","type":"text","text":{"body":"before the kill"}}]}}]}]}`, wamid)
		}
		ten, _, err := tenant.Create(t.Context(), db.Client, tenant.Input{
			Name: "Acme", Slug: "acme", OwnerName: "O", OwnerEmail: "o@acme.test", OwnerPassword: "long enough pw",
		})
		require.NoError(t, err)
		tctx := viewer.System(t.Context(), ten.ID)
		_, err = db.Client.Number.Create().SetPhone("+33600000001").SetDisplayName("Main").SetPhoneNumberID("100200300").
			SetVerifiedAt(time.Now()).Save(tctx)
		require.NoError(t, err)
		held, err := db.Client.WebhookDelivery.Create().SetBody(inbound("wamid.held")).SetClaim("the killed instance's").
			SetDueAt(time.Now().Add(-time.Second).UTC()).Save(pctx)
		require.NoError(t, err)
		free, err := db.Client.WebhookDelivery.Create().SetBody(inbound("wamid.free")).Save(pctx)
		require.NoError(t, err)

		graphtest.New(t, db, graph.Config{}, graphtest.WithApp(app.WithWorkers(true))) // the restart
		require.Eventually(t, func() bool {
			n, err := db.Client.Message.Query().Where(message.ProviderMessageIDIn("wamid.held", "wamid.free")).Count(tctx)
			return err == nil && n == 2
		}, 20*time.Second, 20*time.Millisecond)
		for _, id := range []string{held.ID, free.ID} {
			d, err := db.Client.WebhookDelivery.Get(pctx, id)
			require.NoError(t, err)
			require.Equal(t, webhookdelivery.StatePROCESSED, d.State)
			require.Empty(t, d.Claim)
		}
	})
}
