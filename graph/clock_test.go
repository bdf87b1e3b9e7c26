package graph_test

import (
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestServicesReadTheAppClock: the clock given to the app builder is the
// "now" of the services: a day later by that clock (and no sleeping) the
// customer's 24-hour window is closed, a resolution is stamped with it, and
// tokens and sessions are issued by it.
func TestServicesReadTheAppClock(t *testing.T) {
	t.Parallel()
	fake := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	s := graphtest.New(t, storetest.Open(t, dialect.SQLite), graph.Config{}, graphtest.WithApp(app.WithClock(fake)))
	w := seedWorld(t, s, "alpha") // sends a reply inside the window

	later := fake.Advance(25 * time.Hour)
	// the token of an hour ago expired by this clock: sign in again, by it
	s.Do(t, w.token, `{ viewer { kind } }`, nil).RequireCode(t, "UNAUTHENTICATED")
	token := s.Login(t, "owner@alpha.test", graphtest.Password)

	c := map[string]any{"c": w.conversation}
	s.Do(t, token, `mutation($c: ID!) { sendText(conversationID: $c, body: "Still there?") { id } }`, c).
		RequireCode(t, "OUTSIDE_CUSTOMER_WINDOW")
	r := s.Do(t, token, `mutation($c: ID!) { resolveConversation(id: $c) { resolvedAt } }`, c)
	r.RequireOK(t)
	require.JSONEq(t, `{"resolveConversation":{"resolvedAt":"`+later.Format(time.RFC3339)+`"}}`, string(r.Data))
}
