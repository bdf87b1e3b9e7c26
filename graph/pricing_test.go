package graph_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestMessagingCostsThroughTheAPI: the pricing the status webhooks reported
// per message (stored by ingest) and the tenant's rate card give a number's
// costs of a month, per category, at the rate of the recipient's market;
// service messages are counted, billed or not; rates are set by tenant.manage
// holders (audited, bad input refused), costs and rates read by
// report.view_all holders only.
func TestMessagingCostsThroughTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.DefaultConfig)
		w := seedWorld(t, s, "alpha")
		agentToken := s.Login(t, "agent@alpha.test", graphtest.Password)
		ctx := systemCtx(t, w)
		c := db.Client

		uk, err := c.Contact.Create().SetWaID("447700900123").SetPhone("+447700900123").Save(ctx)
		require.NoError(t, err)
		ukConv, err := c.Conversation.Create().SetNumberID(w.number).SetContactID(uk.ID).Save(ctx)
		require.NoError(t, err)
		bsuidOnly, err := c.Contact.Create().SetWaID("US.13491208655302741918").SetUserID("US.13491208655302741918").Save(ctx)
		require.NoError(t, err)
		bsuidConv, err := c.Conversation.Create().SetNumberID(w.number).SetContactID(bsuidOnly.ID).Save(ctx)
		require.NoError(t, err)
		november := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
		priced := func(conv, category, typ string, billable bool, at time.Time) *ent.Message {
			t.Helper()
			m, err := c.Message.Create().SetConversationID(conv).SetNumberID(w.number).SetDirection(message.DirectionOUTBOUND).
				SetStatus(message.StatusDELIVERED).SetBody("x").SetPricingCategory(category).SetPricingModel("PMP").
				SetPricingType(typ).SetBillable(billable).SetPricedAt(at).Save(ctx)
			require.NoError(t, err)
			return m
		}
		// with seedWorld's reply (marketing, +33, November)
		promo := priced(w.conversation, "marketing", "regular", true, november)     // +33: the "*" rate
		priced(ukConv.ID, "marketing", "regular", true, november)                   // +44: the UK rate
		priced(bsuidConv.ID, "marketing", "regular", true, november)                // no phone: the "*" rate
		priced(w.conversation, "service", "free_customer_service", false, november) // free
		priced(ukConv.ID, "service", "regular", true, november)                     // beyond the free tier
		priced(ukConv.ID, "utility", "regular", true, november)                     // no utility rate
		priced(ukConv.ID, "marketing", "regular", true, november.AddDate(0, -1, 0)) // October

		set := `mutation($i: MessageRateInput!) { setMessageRate(input: $i) { id category market currency price } }`
		for _, in := range []map[string]any{
			{"category": "marketing", "price": 0.05},
			{"category": "marketing", "market": "+44", "price": 0.0529},
			{"category": "service", "price": 0.004},
		} {
			s.Do(t, w.token, set, map[string]any{"i": in}).RequireOK(t)
		}
		r := s.Do(t, w.token, `mutation { setMessageRate(input: {category: "marketing", price: 0.06}) { category market currency price } }`, nil)
		r.RequireOK(t)
		require.JSONEq(t, `{"setMessageRate":{"category":"marketing","market":"*","currency":"USD","price":0.06}}`, string(r.Data), "replaced")
		for _, bad := range []map[string]any{
			{"category": "Marketing!", "price": 0.05},
			{"category": "marketing", "market": "4x", "price": 0.05},
			{"category": "marketing", "currency": "dollars", "price": 0.05},
			{"category": "marketing", "price": -1},
		} {
			s.Do(t, w.token, set, map[string]any{"i": bad}).RequireCode(t, "INVALID_INPUT")
		}
		s.Do(t, w.token, set, map[string]any{"i": map[string]any{"category": "utility", "currency": "EUR", "price": 0.02}}).RequireCode(t, "CONFLICT")
		s.Do(t, agentToken, set, map[string]any{"i": map[string]any{"category": "utility", "price": 0.02}}).RequireCode(t, "FORBIDDEN")

		costs := `query($n: ID!, $m: String!) { node(id: $n) { ... on Number { costs(month: $m) {
			month currency total serviceMessages billedServiceMessages categories { category messages billable cost unrated } } } } }`
		r = s.Do(t, w.token, costs, map[string]any{"n": w.number, "m": "2026-11"})
		r.RequireOK(t)
		require.JSONEq(t, `{"node":{"costs":{"month":"2026-11","currency":"USD","total":0.2369,"serviceMessages":2,"billedServiceMessages":1,
			"categories":[
			{"category":"marketing","messages":4,"billable":4,"cost":0.2329,"unrated":0},
			{"category":"service","messages":2,"billable":1,"cost":0.004,"unrated":0},
			{"category":"utility","messages":1,"billable":1,"cost":0,"unrated":1}]}}}`, string(r.Data))
		r = s.Do(t, w.token, costs, map[string]any{"n": w.number, "m": "2026-10"})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"total":0.0529`)
		s.Do(t, w.token, costs, map[string]any{"n": w.number, "m": "November"}).RequireCode(t, "INVALID_INPUT")

		msg := `query($id: ID!) { node(id: $id) { ... on Message { pricing { category model type billable pricedAt } } } }`
		r = s.Do(t, w.token, msg, map[string]any{"id": promo.ID})
		r.RequireOK(t)
		require.JSONEq(t, `{"node":{"pricing":{"category":"marketing","model":"PMP","type":"regular","billable":true,"pricedAt":"2026-11-10T12:00:00Z"}}}`, string(r.Data))
		r = s.Do(t, w.token, msg, map[string]any{"id": w.inbound})
		r.RequireOK(t)
		require.JSONEq(t, `{"node":{"pricing":null}}`, string(r.Data), "a customer's message is not priced")

		// An agent sees the number and the message, not what they cost.
		r = s.Do(t, agentToken, costs, map[string]any{"n": w.number, "m": "2026-11"})
		r.RequireCode(t, "FORBIDDEN")
		require.JSONEq(t, `{"node":{"costs":null}}`, string(r.Data))
		s.Do(t, agentToken, `{ messageRates { id } }`, nil).RequireCode(t, "FORBIDDEN")

		var rates struct {
			MessageRates []struct{ ID, Category, Market string }
		}
		r = s.Do(t, w.token, `{ messageRates { id category market } }`, nil)
		r.RequireOK(t)
		r.Decode(t, &rates)
		require.Len(t, rates.MessageRates, 3)
		s.Do(t, agentToken, `mutation($id: ID!) { deleteMessageRate(id: $id) }`, map[string]any{"id": rates.MessageRates[0].ID}).RequireCode(t, "FORBIDDEN")
		r = s.Do(t, w.token, `mutation($id: ID!) { deleteMessageRate(id: $id) }`, map[string]any{"id": rates.MessageRates[0].ID})
		r.RequireOK(t)
		r = s.Do(t, w.token, `{ auditEvents(where: {actionHasPrefix: "pricing."}) { totalCount } }`, nil)
		r.RequireOK(t)
		require.JSONEq(t, `{"auditEvents":{"totalCount":6}}`, string(r.Data), "five rates set (one by seedWorld), one removed")
	})
}
