package graph_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/routing"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

const routingQueueQuery = `query($n: Int!) {
  routingQueue(first: $n) {
    length longestWaitSeconds
    conversations { id priority contact { id profileName } number { id displayName } lastMessage { id } assignments { cause reason } }
  }
}`

// maxQueueStatements: the figures (count, first arrival), the page, then
// one query per edge (contacts, numbers, messages, assignments).
const maxQueueStatements = 7

func TestRoutingQueueCostsAFixedNumberOfStatements(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			var counter storetest.Counter
			db := storetest.Open(t, d, store.WithDriver(counter.Wrap))
			s := graphtest.New(t, db, graph.Config{}, graphtest.Quiet())
			w := seedWorld(t, s, "alpha")
			ctx := viewer.System(t.Context(), w.tenantID)
			// nobody is online: every arrival waits
			r := s.Do(t, w.token, `mutation($n: ID!) { setRoutingPolicy(numberID: $n, policy: {strategies: [LEAST_LOADED]}) { id } }`, map[string]any{"n": w.number})
			r.RequireOK(t)
			router := routing.New(db.Client, nil, clock.Real())
			costs := map[int]int{}
			added := 0
			for _, n := range []int{5, 50} {
				for ; added < n; added++ {
					ct, err := db.Client.Contact.Create().SetWaID(fmt.Sprint(33690000000 + added)).SetProfileName("Waiting").Save(ctx)
					require.NoError(t, err)
					c, err := db.Client.Conversation.Create().SetNumberID(w.number).SetContactID(ct.ID).Save(ctx)
					require.NoError(t, err)
					d, err := router.Route(ctx, c.ID)
					require.NoError(t, err)
					require.True(t, d.Queued)
				}
				counter.Reset()
				r := s.Do(t, w.token, routingQueueQuery, map[string]any{"n": n})
				costs[n] = counter.Count()
				r.RequireOK(t)
				require.Equal(t, n, strings.Count(string(r.Data), `"cause":"QUEUE"`), "every conversation says why it waits")
				require.LessOrEqual(t, costs[n], maxQueueStatements, "statements for %d:\n%s", n, strings.Join(counter.Statements(), "\n"))
			}
			require.Equal(t, costs[5], costs[50], "the cost must not grow with the page")
		})
	}
}

func TestRoutingThroughTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{}, graphtest.Quiet())
		w := seedWorld(t, s, "alpha")
		ctx := viewer.System(t.Context(), w.tenantID)
		agentToken := s.Login(t, "agent@alpha.test", graphtest.Password)
		set := `mutation($n: ID!, $p: RoutingPolicyInput!) { setRoutingPolicy(numberID: $n, policy: $p) { id routingPolicy { strategies teamID stickyWindowMinutes } } }`

		r := s.Do(t, agentToken, set, map[string]any{"n": w.number, "p": map[string]any{"strategies": []string{"LEAST_LOADED"}}})
		r.RequireCode(t, "FORBIDDEN")
		r = s.Do(t, w.token, set, map[string]any{"n": w.number, "p": map[string]any{"strategies": []string{"LEAST_LOADED", "LEAST_LOADED"}}})
		r.RequireCode(t, "INVALID_INPUT")
		r = s.Do(t, w.token, set, map[string]any{"n": w.number, "p": map[string]any{"strategies": []string{"STICKY", "LEAST_LOADED"}, "teamID": w.team, "stickyWindowMinutes": 120}})
		r.RequireOK(t)
		require.JSONEq(t, `{"setRoutingPolicy":{"id":"`+w.number+`","routingPolicy":{"strategies":["STICKY","LEAST_LOADED"],"teamID":"`+w.team+`","stickyWindowMinutes":120}}}`, string(r.Data))
		r = s.Do(t, w.token, `{ auditEvents(first: 5, where: {action: "number.routing_policy"}) { edges { node { action summary } } } }`, nil)
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"action":"number.routing_policy"`)
		require.Contains(t, string(r.Data), "STICKY → LEAST_LOADED")

		// the team's agent comes online and a customer writes
		require.NoError(t, db.Client.Agent.UpdateOneID(w.agent).SetPresence(agent.PresenceONLINE).Exec(ctx))
		ct, err := db.Client.Contact.Create().SetWaID("33699999999").Save(ctx)
		require.NoError(t, err)
		c, err := db.Client.Conversation.Create().SetNumberID(w.number).SetContactID(ct.ID).Save(ctx)
		require.NoError(t, err)
		_, err = routing.New(db.Client, nil, clock.NewFake(time.Now())).Route(ctx, c.ID)
		require.NoError(t, err)
		r = s.Do(t, w.token, `query($id: ID!) { node(id: $id) { ... on Conversation { assignee { id } assignments { cause strategy reason agent { id } } } } }`, map[string]any{"id": c.ID})
		r.RequireOK(t)
		require.JSONEq(t, `{"node":{"assignee":{"id":"`+w.agent+`"},"assignments":[{"cause":"POLICY","strategy":"LEAST_LOADED",
			"reason":"least-loaded: the agent with the fewest open conversations, online, under capacity, in team `+w.team+`","agent":{"id":"`+w.agent+`"}}]}}`, string(r.Data))
	})
}
