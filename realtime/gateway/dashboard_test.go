package gateway_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Dashboard subscribers who see the same figures share one computation per
// tick: five owners cost the statements of one. Subscribers who see other
// rows do not share it: an agent's dashboard keeps to their scope. On both
// databases (the counters are grouped queries).
func TestDashboardSharedPerTick(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dashboardSharedPerTick(t, d)
		})
	}
}

func dashboardSharedPerTick(t *testing.T, d string) {
	var counter storetest.Counter
	s := graphtest.New(t, storetest.Open(t, d, store.WithDriver(counter.Wrap)), graph.Config{}, graphtest.Quiet())
	token := s.Inbox(t, "acme", 3) // 3 on Main, assigned to the agent, who is on Main
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	b := &bundle{s: s, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/graphql", token: token}
	tenantID := tenantOf(t, b)
	ctx := viewer.System(t.Context(), tenantID)
	other := s.DB.Client.Number.Create().SetPhone("+33612349999").SetDisplayName("Other").SaveX(ctx)
	for i := range 2 { // 2 on Other, nobody's: the owner sees them, the agent does not
		ct := s.DB.Client.Contact.Create().SetWaID(fmt.Sprint(33790000000 + i)).SaveX(ctx)
		s.DB.Client.Conversation.Create().SetNumberID(other.ID).SetContactID(ct.ID).ExecX(ctx)
	}

	// Each subscriber asks with its own document, so that the gateway does
	// not group them into one execution: what is shared is the dashboard's.
	subscribe := func(token string, i int) *client {
		c := b.dial(t, gateway.ProtocolTransportWS)
		c.init(token)
		c.send(subscribeMsg("d", fmt.Sprintf(`subscription { dashboard { openConversations x%d: unassignedConversations } }`, i)))
		return c
	}
	// nextTick publishes a change the dashboard counts and waits for every
	// subscriber's next value; it returns the statements that cost.
	nextTick := func(subs []*client) int {
		require.Eventually(t, settled(s.Gateway, len(subs)), 15*time.Second, 10*time.Millisecond)
		time.Sleep(2 * dashboardTick) // any tick already due has run
		counter.Reset()
		_, err := s.Bus.Publish(t.Context(), realtime.AgentPresenceEvent(tenantID, "agt_none"))
		require.NoError(t, err)
		for _, c := range subs {
			require.Equal(t, float64(5), event(c.read(), "dashboard")["openConversations"])
		}
		time.Sleep(2 * dashboardTick) // a second computation would have come by now
		return counter.Count()
	}

	owners := []*client{subscribe(token, 0)}
	require.Equal(t, float64(5), event(owners[0].read(), "dashboard")["openConversations"])
	one := nextTick(owners)
	require.Positive(t, one)
	t.Logf("one dashboard computation and its tick: %d statements", one)
	for i := 1; i < 5; i++ {
		c := subscribe(token, i)
		require.Equal(t, float64(5), event(c.read(), "dashboard")["openConversations"], "a snapshot at once")
		owners = append(owners, c)
	}
	require.Equal(t, one, nextTick(owners), "five owners cost what one costs")

	a := subscribe(s.Login(t, "agent@acme.test", graphtest.Password), 9)
	require.Equal(t, float64(3), event(a.read(), "dashboard")["openConversations"], "the agent counts Main's only")
}

// dashboardTick is graph's dashboardPeriod.
const dashboardTick = 250 * time.Millisecond
