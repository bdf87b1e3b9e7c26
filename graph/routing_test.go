package graph_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
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

// TestBusinessHoursThroughTheAPI: anyone signed in reads the opening hours
// in force (open now, next opening, in the tenant's time zone); only
// automation.manage sets them, per tenant or per number, audited; bad
// windows and dates are INVALID_INPUT. An agent's shift is set with
// agent.manage and read on the agent.
func TestBusinessHoursThroughTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fake := clock.NewFake(time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)) // Monday, 07:00 in Paris
		s := graphtest.New(t, db, graph.Config{}, graphtest.Quiet(), graphtest.WithApp(app.WithClock(fake)))
		w := seedWorld(t, s, "alpha")
		require.NoError(t, db.Client.Tenant.UpdateOneID(w.tenantID).SetTimezone("Europe/Paris").Exec(viewer.Platform(t.Context())))
		agentToken := s.Login(t, "agent@alpha.test", graphtest.Password)
		const state = `{ numberID own timezone weekly { weekday open close } closed openNow nextOpening }`
		set := `mutation($n: ID, $h: BusinessHoursInput!) { setBusinessHours(numberID: $n, hours: $h) ` + state + ` }`
		get := `query($n: ID) { businessHours(numberID: $n) ` + state + ` }`
		weekdays := []map[string]any{}
		for wd := 1; wd <= 5; wd++ {
			weekdays = append(weekdays, map[string]any{"weekday": wd, "open": "09:00", "close": "18:00"})
		}

		r := s.Do(t, agentToken, get, nil)
		r.RequireOK(t)
		require.JSONEq(t, `{"businessHours":{"numberID":null,"own":false,"timezone":"Europe/Paris","weekly":[],"closed":[],"openNow":true,"nextOpening":null}}`,
			string(r.Data), "no hours: open around the clock")
		s.Do(t, agentToken, set, map[string]any{"h": map[string]any{"weekly": weekdays}}).RequireCode(t, "FORBIDDEN")

		r = s.Do(t, w.token, set, map[string]any{"h": map[string]any{"weekly": weekdays, "closed": []string{"2026-12-25"}}})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"openNow":false,"nextOpening":"2026-11-30T09:00:00+01:00"`, "in tenant time")
		r = s.Do(t, agentToken, get, map[string]any{"n": w.number})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"numberID":"`+w.number+`","own":false`, "the number follows the tenant")
		require.Contains(t, string(r.Data), `"closed":["2026-12-25"]`)

		sunday := []map[string]any{{"weekday": 0, "open": "10:00", "close": "12:00"}}
		r = s.Do(t, w.token, set, map[string]any{"n": w.number, "h": map[string]any{"weekly": sunday}})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"own":true`)
		require.Contains(t, string(r.Data), `"nextOpening":"2026-12-06T10:00:00+01:00"`, "Sunday 10:00 in Paris")
		r = s.Do(t, w.token, set, map[string]any{"n": w.number, "h": map[string]any{"weekly": []any{}}})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"own":false`, "no weekly window: the tenant's again")

		for _, bad := range []map[string]any{
			{"weekly": []map[string]any{{"weekday": 1, "open": "25:00", "close": "26:00"}}},
			{"weekly": []map[string]any{{"weekday": 7, "open": "09:00", "close": "10:00"}}},
			{"weekly": []map[string]any{{"weekday": 1, "open": "18:00", "close": "09:00"}}},
			{"weekly": weekdays, "closed": []string{"2026-13-01"}},
		} {
			s.Do(t, w.token, set, map[string]any{"h": bad}).RequireCode(t, "INVALID_INPUT")
		}

		shift := `mutation($a: ID!, $w: [OpeningWindowInput!]!) { setAgentWorkingHours(agentID: $a, weekly: $w) { id workingHours { weekday open close } } }`
		s.Do(t, agentToken, shift, map[string]any{"a": w.agent, "w": sunday}).RequireCode(t, "FORBIDDEN")
		r = s.Do(t, w.token, shift, map[string]any{"a": w.agent, "w": sunday})
		r.RequireOK(t)
		require.JSONEq(t, `{"setAgentWorkingHours":{"id":"`+w.agent+`","workingHours":[{"weekday":0,"open":"10:00","close":"12:00"}]}}`, string(r.Data))

		r = s.Do(t, w.token, `{ auditEvents(first: 10, where: {actionIn: ["routing.business_hours", "agent.working_hours"]}) { totalCount } }`, nil)
		r.RequireOK(t)
		require.JSONEq(t, `{"auditEvents":{"totalCount":4}}`, string(r.Data))
	})
}
