package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

// TestNumberOwnershipIsProven (issue 9, M8): a phone number id is routed to
// a tenant only once the provider has shown that the tenant's access token
// reads it, under the number's phone. A tenant that links another's id first
// receives nothing of it, does not keep its owner out, and when the id is
// verified elsewhere gets exactly the answer of a wrong token, which names
// nobody. Both databases.
func TestNumberOwnershipIsProven(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const (
			alphaID, betaID = "100200301", "100200302"
			alphaPhone      = "+33600000001"
			betaPhone       = "+33600000002"
		)
		var handler http.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
		t.Cleanup(srv.Close)
		simulator, err := sim.New(sim.Config{
			WebhookURL: srv.URL + "/webhooks/whatsapp", AppSecret: simSecret,
			Numbers: []sim.Number{
				{PhoneNumberID: alphaID, Token: "alpha-token", DisplayPhone: alphaPhone[1:]},
				{PhoneNumberID: betaID, Token: "beta-token", DisplayPhone: betaPhone[1:]},
			},
			StatusDelays: sim.StatusDelays{Sent: time.Hour}, PairInterval: -1, Seed: 9,
		})
		require.NoError(t, err)
		t.Cleanup(simulator.Close)
		simSrv := httptest.NewServer(simulator)
		t.Cleanup(simSrv.Close)
		s := graphtest.New(t, db, graph.Config{}, graphtest.WithApp(app.WithWorkers(true)),
			graphtest.WithConfig(func(c *app.Config) {
				c.WhatsAppAPIURL, c.SimURL, c.WhatsAppAppSecret = simSrv.URL, simSrv.URL, []byte(simSecret)
			}))
		handler = s.App.Handler()
		betaTenant, beta := s.Tenant(t, "beta")
		_, alpha := s.Tenant(t, "alpha")

		link := func(token, phone, id string) string {
			t.Helper()
			r := s.Do(t, token, `mutation($p: String!, $id: String!) {
				linkNumber(input: {phone: $p, displayName: "Main", provider: sim, phoneNumberID: $id}) { id verifiedAt } }`,
				map[string]any{"p": phone, "id": id})
			r.RequireOK(t)
			var out struct {
				LinkNumber struct{ ID, VerifiedAt *string }
			}
			r.Decode(t, &out)
			require.Nil(t, out.LinkNumber.VerifiedAt, "a linked number starts unverified")
			return *out.LinkNumber.ID
		}
		setToken := func(token, id, accessToken string) graphtest.Response {
			t.Helper()
			return s.Do(t, token, `mutation($id: ID!, $t: String!) { setNumberCredentials(id: $id, accessToken: $t) { id verifiedAt } }`,
				map[string]any{"id": id, "t": accessToken})
		}
		refused := func(r graphtest.Response) []graphtest.Error {
			t.Helper()
			r.RequireCode(t, "INVALID_INPUT")
			require.NotContains(t, string(r.Body), "beta", "nothing names the other tenant")
			require.NotContains(t, string(r.Body), betaTenant)
			return r.Errors
		}
		verifiedAt := func(id string) *time.Time {
			t.Helper()
			n, err := db.Client.Number.Get(viewer.Platform(t.Context()), id)
			require.NoError(t, err)
			return n.VerifiedAt
		}
		conversations := func(token string) int {
			t.Helper()
			r := s.Do(t, token, `{ conversations { totalCount } }`, nil)
			r.RequireOK(t)
			var out struct{ Conversations struct{ TotalCount int } }
			r.Decode(t, &out)
			return out.Conversations.TotalCount
		}

		// Alpha links beta's number (its id and phone) before beta does: it
		// is linked like any number, and stays unverified, since no token
		// alpha holds reads it.
		claimed := link(alpha, betaPhone, betaID)
		wrongToken := refused(setToken(alpha, claimed, "alpha-token"))
		require.Equal(t, wrongToken, refused(setToken(alpha, claimed, "made-up-token")))
		require.Nil(t, verifiedAt(claimed))

		// A customer writes to beta's number: alpha receives nothing, not
		// even the delivery's trace; it is kept UNROUTED.
		_, err = simulator.WriteIn(betaID, "33612340001", whatsapp.Message{Type: "text", Text: "for beta", ProfileName: "Kim"})
		require.NoError(t, err)
		pctx := viewer.Platform(t.Context())
		require.Eventually(t, func() bool {
			return db.Client.WebhookDelivery.Query().Where(webhookdelivery.StateEQ(webhookdelivery.StateUNROUTED)).ExistX(pctx)
		}, 10*time.Second, 20*time.Millisecond)
		require.Zero(t, conversations(alpha))
		r := s.Do(t, alpha, `{ inboundDeliveries { id } }`, nil)
		r.RequireOK(t)
		require.JSONEq(t, `{"inboundDeliveries":[]}`, string(r.Data))

		// Beta links and proves its number although alpha claimed the id
		// first; the message kept for it arrives.
		mine := link(beta, betaPhone, betaID)
		setToken(beta, mine, "beta-token").RequireOK(t)
		require.NotNil(t, verifiedAt(mine))
		require.Eventually(t, func() bool { return conversations(beta) == 1 }, 10*time.Second, 20*time.Millisecond)

		// Now verified by beta: alpha, even holding beta's token, gets the
		// answer of a wrong token, word for word, and linking the id again
		// says nothing either (no CONFLICT).
		require.Equal(t, wrongToken, refused(setToken(alpha, claimed, "beta-token")))
		again := link(alpha, "+33600000003", betaID)
		require.Equal(t, wrongToken, refused(setToken(alpha, again, "alpha-token")))
		// The database holds one verified number per id, whatever the tenant.
		_, err = db.Client.Number.Create().SetPhone("+33600000009").SetDisplayName("Twin").SetPhoneNumberID(betaID).
			SetVerifiedAt(time.Now()).Save(viewer.System(t.Context(), betaTenant))
		require.True(t, ent.IsConstraintError(err), "%v", err)

		// Alpha's own number, under another phone, is refused the same way;
		// so is it in a business account its token does not read (account
		// updates are routed by it). Under its phone and account it is
		// verified.
		wrongPhone := link(alpha, "+33699999999", alphaID)
		require.Equal(t, wrongToken, refused(setToken(alpha, wrongPhone, "alpha-token")))
		own := link(alpha, alphaPhone, alphaID)
		setWABA := func(waba string) {
			t.Helper()
			s.Do(t, alpha, `mutation($n: ID!, $w: String!) { updateNumber(id: $n, input: {wabaID: $w}) { id } }`,
				map[string]any{"n": own, "w": waba}).RequireOK(t)
		}
		setWABA("999888777")
		require.Equal(t, wrongToken, refused(setToken(alpha, own, "alpha-token")))
		setWABA(sim.DefaultWABAID)
		setToken(alpha, own, "alpha-token").RequireOK(t)
		require.NotNil(t, verifiedAt(own))

		// Another id makes a verified number unverified; the health read
		// verifies it again once its stored token reads its id.
		update := func(id string) {
			t.Helper()
			s.Do(t, alpha, `mutation($n: ID!, $id: String!) { updateNumber(id: $n, input: {phoneNumberID: $id}) { id } }`,
				map[string]any{"n": own, "id": id}).RequireOK(t)
		}
		// Moving it to an id another company verified is answered as any
		// move (the index of verified ids answers no CONFLICT that would tell
		// it exists): it is simply unverified.
		update(betaID)
		require.Nil(t, verifiedAt(own))
		update(alphaID)
		setToken(alpha, own, "alpha-token").RequireOK(t)
		require.NotNil(t, verifiedAt(own))
		update("100200399")
		require.Nil(t, verifiedAt(own))
		update(alphaID)
		require.Nil(t, verifiedAt(own), "changing it back proves nothing")
		require.NoError(t, s.App.WhatsApp.Health.Work(t.Context(), &river.Job[connector.HealthArgs]{}))
		require.NotNil(t, verifiedAt(own))
		unverified, err := db.Client.Number.Query().Where(number.VerifiedAtIsNil()).IDs(pctx)
		require.NoError(t, err)
		require.ElementsMatch(t, []string{claimed, again, wrongPhone}, unverified, "the health read proves nothing it does not read")

		// Beta's customers still reach beta only.
		_, err = simulator.WriteIn(betaID, "33612340002", whatsapp.Message{Type: "text", Text: "me too", ProfileName: "Lou"})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return conversations(beta) == 2 }, 10*time.Second, 20*time.Millisecond)
		require.Zero(t, conversations(alpha))
		require.False(t, strings.Contains(s.Do(t, alpha, `{ inboundDeliveries { phoneNumberIDs } }`, nil).String(), betaID))
	})
}
