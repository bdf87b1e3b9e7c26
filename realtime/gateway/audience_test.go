package gateway_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// An event costs what its audience costs: agents of one number subscribed
// to conversationEvents spend no statement on an event of another number
// (their row scope cannot cover it), however many of them are online. The
// statements of each phase are counted with one subscriber and with eight;
// what the eight add for an event on their own number is the cost of its
// audience, and the other number's event adds nothing to it.
func TestAnEventCostsItsAudience(t *testing.T) {
	t.Parallel()
	var counter storetest.Counter
	s := graphtest.New(t, storetest.Open(t, dialect.SQLite, store.WithDriver(counter.Wrap)), graph.Config{}, graphtest.Quiet())
	owner := s.Inbox(t, "acme", 1) // number Main, agent@acme.test on it, one conversation
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	b := &bundle{s: s, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/graphql", token: owner}
	ctx := viewer.Platform(t.Context())
	main := s.DB.Client.Conversation.Query().OnlyX(ctx)
	sys := viewer.System(t.Context(), main.TenantID)
	other := s.DB.Client.Number.Create().SetPhone("+33612349999").SetDisplayName("Other").SaveX(sys)
	contact := s.DB.Client.Contact.Create().SetWaID("33799999999").SaveX(sys)
	elsewhere := s.DB.Client.Conversation.Create().SetNumberID(other.ID).SetContactID(contact.ID).SaveX(sys)
	hash, err := auth.HashPassword(graphtest.Password)
	require.NoError(t, err)
	emails := []string{"agent@acme.test"}
	for i := range 7 {
		email := fmt.Sprintf("agent%d@acme.test", i)
		s.DB.Client.Agent.Create().SetName("Agent").SetEmail(email).SetPasswordHash(hash).AddNumberIDs(main.NumberID).SaveX(sys)
		emails = append(emails, email)
	}

	var subscribers []*client
	subscribe := func(email string) {
		c := b.dial(t, gateway.ProtocolTransportWS)
		c.init(s.Login(t, email, graphtest.Password))
		c.send(subscribeMsg("c", `subscription { conversationEvents { seq conversation { id } } }`))
		subscribers = append(subscribers, c)
		require.Eventually(t, func() bool { return s.Gateway.Stats().Subscriptions == len(subscribers) }, 5*time.Second, 10*time.Millisecond)
	}
	status := func(id, to string) {
		s.Do(t, owner, `mutation { setConversationStatus(id: "`+id+`", status: `+to+`) { id } }`, nil).RequireOK(t)
	}
	next := "PENDING"
	// phase counts the statements from the changes until every subscriber
	// has shown the change on its own number (streams are ordered: the other
	// number's event, if any, was decided first).
	phase := func(elsewhereToo bool) int {
		time.Sleep(200 * time.Millisecond) // sign-ins and presence settle
		counter.Reset()
		if elsewhereToo {
			status(elsewhere.ID, next)
		}
		status(main.ID, next)
		for _, c := range subscribers {
			m := c.read()
			require.Contains(t, fmt.Sprint(m["payload"]), main.ID, "%v", m)
		}
		next = map[string]string{"PENDING": "OPEN", "OPEN": "PENDING"}[next]
		return counter.Count()
	}

	subscribe(emails[0])
	ownOne, bothOne := phase(false), phase(true)
	for _, e := range emails[1:] {
		subscribe(e)
	}
	ownEight, bothEight := phase(false), phase(true)
	t.Logf("statements: own number %d → %d, both numbers %d → %d (1 → 8 subscribers)", ownOne, ownEight, bothOne, bothEight)
	audience := ownEight - ownOne
	require.Positive(t, audience, "the seven more subscribers load the event they see")
	require.LessOrEqual(t, bothEight-bothOne, audience+2, "the other number's event cost the seven agents statements")
}
