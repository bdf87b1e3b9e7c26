package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// number.manage holders list the provider's webhooks that name their
// numbers, by state and by number, and only their numbers' ids; a delivery
// that also names another tenant's number hides its error. Others are
// refused. A replay puts the deliveries back to RECEIVED, audited (defect 7).
func TestInboundDeliveriesListAndReplay(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		a := seedWorld(t, s, "alpha")
		seedWorld(t, s, "beta")
		pctx := viewer.Platform(t.Context())
		shared, err := db.Client.WebhookDelivery.Create().SetBody([]byte(`{}`)).SetState(webhookdelivery.StateUNROUTED).
			SetPhoneNumberIds([]string{"pnid-alpha", "pnid-beta"}).SetError("about beta's items").Save(pctx)
		require.NoError(t, err)
		_, err = db.Client.WebhookDelivery.Create().SetBody([]byte(`{}`)).SetState(webhookdelivery.StateUNROUTED).
			SetPhoneNumberIds([]string{"pnid-nobody"}).Save(pctx)
		require.NoError(t, err)

		r := s.Do(t, a.token, `{ inboundDeliveries { id state phoneNumberIDs error } }`, nil)
		r.RequireOK(t)
		require.JSONEq(t, `{"inboundDeliveries":[
			{"id":"`+shared.ID+`","state":"UNROUTED","phoneNumberIDs":["pnid-alpha"],"error":null},
			{"id":"`+a.inboundHook+`","state":"PROCESSED","phoneNumberIDs":["pnid-alpha"],"error":"1 item(s) left out: alpha"}]}`, string(r.Data))

		r = s.Do(t, a.token, `query($n: ID!) { inboundDeliveries(state: PROCESSED, numberID: $n) { id } }`, map[string]any{"n": a.number})
		r.RequireOK(t)
		require.JSONEq(t, `{"inboundDeliveries":[{"id":"`+a.inboundHook+`"}]}`, string(r.Data))

		agent := s.Login(t, "agent@alpha.test", graphtest.Password)
		r = s.Do(t, agent, `{ inboundDeliveries { id } }`, nil)
		r.RequireCode(t, "FORBIDDEN")
		require.JSONEq(t, `{"inboundDeliveries":[]}`, string(r.Data))
		r = s.Do(t, agent, `mutation { replayInboundDeliveries(state: UNROUTED) { id } }`, nil)
		r.RequireCode(t, "FORBIDDEN")

		r = s.Do(t, a.token, `mutation { replayInboundDeliveries(state: UNROUTED) { id state attempts } }`, nil)
		r.RequireOK(t)
		require.JSONEq(t, `{"replayInboundDeliveries":[{"id":"`+shared.ID+`","state":"RECEIVED","attempts":0}]}`, string(r.Data))
		d, err := db.Client.WebhookDelivery.Get(pctx, shared.ID)
		require.NoError(t, err)
		require.Equal(t, webhookdelivery.StateRECEIVED, d.State)
		r = s.Do(t, a.token, `{ auditEvents(where: {action: "number.replay_webhooks"}) { totalCount } }`, nil)
		r.RequireOK(t)
		require.JSONEq(t, `{"auditEvents":{"totalCount":1}}`, string(r.Data))

		r = s.Do(t, a.token, `mutation { replayInboundDeliveries { id } }`, nil)
		r.RequireCode(t, "INVALID_INPUT")
	})
}
