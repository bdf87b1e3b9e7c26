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
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// An event costs what its audience costs: agents of one number subscribed
// to conversationEvents see the same rows, so they share one execution (the
// fingerprint is their pinned numbers, not who they are), and none of them
// spends a statement on an event of another number. The statements of each
// phase are counted with one subscriber and with eight: the seven more add
// (almost) nothing, whichever number the event is on. Then one agent moves
// to the other number: from the change on, their stream shows the other
// number's events and not their old number's, while their colleagues' shared
// execution goes on.
func TestAnEventCostsItsAudience(t *testing.T) {
	t.Parallel()
	s, counter, owner, b := countedInbox(t)
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
		require.Eventually(t, settled(s.Gateway, len(subscribers)), 15*time.Second, 10*time.Millisecond)
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
	require.Equal(t, 1, s.Gateway.Stats().Executions, "eight agents on the same number share one execution")
	ownEight, bothEight := phase(false), phase(true)
	t.Logf("statements: own number %d → %d, both numbers %d → %d (1 → 8 subscribers)", ownOne, ownEight, bothOne, bothEight)
	require.LessOrEqual(t, ownEight-ownOne, 2, "the seven more subscribers cost statements of their own")
	require.LessOrEqual(t, bothEight-bothOne, 2, "the other number's event cost the seven agents statements")

	// agent@acme.test moves from Main to Other.
	moved := s.DB.Client.Agent.Query().Where(agent.Email(emails[0])).OnlyX(sys)
	s.Do(t, owner, `mutation($n: ID!, $a: ID!) { updateNumber(id: $n, input: {removeMemberIDs: [$a]}) { id } }`,
		map[string]any{"n": main.NumberID, "a": moved.ID}).RequireOK(t)
	s.Do(t, owner, `mutation($n: ID!, $a: ID!) { updateNumber(id: $n, input: {addMemberIDs: [$a]}) { id } }`,
		map[string]any{"n": other.ID, "a": moved.ID}).RequireOK(t)
	status(main.ID, next)
	status(elsewhere.ID, next)
	m := subscribers[0].read()
	require.Contains(t, fmt.Sprint(m["payload"]), elsewhere.ID, "the moved agent's next event is their new number's, not their old one's: %v", m)
	for _, c := range subscribers[1:] {
		m := c.read()
		require.Contains(t, fmt.Sprint(m["payload"]), main.ID, "%v", m)
	}
	require.Equal(t, 2, s.Gateway.Stats().Executions, "the moved agent left the shared execution for one of their new number")
}

// An event's conversation is read once, however many executions show it:
// the owner, a supervisor and an agent of its number run three executions
// (their decisions or scopes differ), and the three cost the statements of
// one.
func TestAnEventIsReadOnceForEveryExecution(t *testing.T) {
	t.Parallel()
	s, counter, owner, b := countedInbox(t)
	conv := s.DB.Client.Conversation.Query().OnlyX(viewer.Platform(t.Context()))
	s.Do(t, owner, `mutation($e: String!, $p: String!) { createAgent(input: {name: "Sue", email: $e, password: $p, roles: ["supervisor"]}) { id } }`,
		map[string]any{"e": "sue@acme.test", "p": graphtest.Password}).RequireOK(t)

	var subscribers []*client
	subscribe := func(token string) {
		c := b.dial(t, gateway.ProtocolTransportWS)
		c.init(token)
		c.send(subscribeMsg("c", `subscription { conversationEvents { seq conversation { id } } }`))
		subscribers = append(subscribers, c)
		require.Eventually(t, settled(s.Gateway, len(subscribers)), 15*time.Second, 10*time.Millisecond)
	}
	next := "PENDING"
	phase := func() int {
		time.Sleep(200 * time.Millisecond) // sign-ins and presence settle
		counter.Reset()
		s.Do(t, owner, `mutation { setConversationStatus(id: "`+conv.ID+`", status: `+next+`) { id } }`, nil).RequireOK(t)
		for _, c := range subscribers {
			m := c.read()
			require.Contains(t, fmt.Sprint(m["payload"]), conv.ID, "%v", m)
		}
		next = map[string]string{"PENDING": "OPEN", "OPEN": "PENDING"}[next]
		// The reads of the whole row are the executions' (the change
		// itself and routing read a few columns).
		reads := 0
		for _, st := range counter.Statements() {
			if strings.HasPrefix(st, "SELECT `conversations`.`id`, `conversations`.`created_at`") {
				reads++
			}
		}
		return reads
	}
	subscribe(owner)
	one := phase()
	subscribe(s.Login(t, "sue@acme.test", graphtest.Password))
	subscribe(s.Login(t, "agent@acme.test", graphtest.Password))
	require.Equal(t, 3, s.Gateway.Stats().Executions)
	three := phase()
	t.Logf("reads of the conversation per event: %d with one execution, %d with three", one, three)
	// The change itself may read the whole row too (report/ hooks do): what
	// counts is that two more executions add no read.
	require.Positive(t, one)
	require.Equal(t, one, three, "the two more executions read the conversation again")
}

// countedInbox is a server on SQLite whose statements are counted, with the
// inbox of graphtest.Inbox (number Main, agent@acme.test on it, one
// conversation), its owner's token and a websocket bundle to it.
func countedInbox(t *testing.T) (*graphtest.Server, *storetest.Counter, string, *bundle) {
	t.Helper()
	counter := new(storetest.Counter)
	s := graphtest.New(t, storetest.Open(t, dialect.SQLite, store.WithDriver(counter.Wrap)), graph.Config{}, graphtest.Quiet())
	owner := s.Inbox(t, "acme", 1)
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	return s, counter, owner, &bundle{s: s, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/graphql", token: owner}
}
