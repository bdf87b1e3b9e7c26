package routing_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/assignment"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/inbox"
	"github.com/switchboard-dev/switchboard/routing"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// testBundle is one tenant with one number routed by a policy.
type testBundle struct {
	db     *store.DB
	ctx    context.Context // the tenant's system viewer
	clock  *clock.Fake
	svc    *routing.Service
	tenant *ent.Tenant
	number *ent.Number
	n      atomic.Int64
}

var leastLoaded = schematype.RoutingPolicy{Strategies: []schematype.RoutingStrategy{schematype.StrategyLeastLoaded}}

func setup(t testing.TB, db *store.DB, pol schematype.RoutingPolicy) *testBundle {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC))
	ten, err := db.Client.Tenant.Create().SetName("Acme").SetSlug("acme").SetTimezone("Europe/Paris").
		Save(viewer.Platform(t.Context()))
	require.NoError(t, err)
	ctx := viewer.System(t.Context(), ten.ID)
	num, err := db.Client.Number.Create().SetPhone("+33100000001").SetDisplayName("Sales").SetRoutingPolicy(pol).Save(ctx)
	require.NoError(t, err)
	return &testBundle{db: db, ctx: ctx, clock: clk, svc: routing.New(db.Client, nil, clk), tenant: ten, number: num}
}

func (b *testBundle) agent(t testing.TB, code string, online bool, maxConcurrent int) *ent.Agent {
	t.Helper()
	presence := agent.PresenceOFFLINE
	if online {
		presence = agent.PresenceONLINE
	}
	a, err := b.db.Client.Agent.Create().SetName("Agent " + code).SetEmail(code + "@acme.test").SetPasswordHash("x").
		SetEmployeeCode(code).SetPresence(presence).SetMaxConcurrent(maxConcurrent).Save(b.ctx)
	require.NoError(t, err)
	return a
}

// arrive makes a new unassigned conversation from a new contact, one second
// after the previous one.
func (b *testBundle) arrive(t testing.TB, priority conversation.Priority) *ent.Conversation {
	t.Helper()
	i := b.n.Add(1)
	ct, err := b.db.Client.Contact.Create().SetWaID(fmt.Sprint(33600000000 + i)).SetProfileName(fmt.Sprint("Customer ", i)).Save(b.ctx)
	require.NoError(t, err)
	c, err := b.db.Client.Conversation.Create().SetNumberID(b.number.ID).SetContactID(ct.ID).SetPriority(priority).
		SetCreatedAt(b.clock.Advance(time.Second)).Save(b.ctx)
	require.NoError(t, err)
	return c
}

func (b *testBundle) conv(t testing.TB, id string) *ent.Conversation {
	t.Helper()
	c, err := b.db.Client.Conversation.Get(b.ctx, id)
	require.NoError(t, err)
	return c
}

// requireLoads checks every agent's load against the conversations
// themselves, and returns the loads by agent id.
func (b *testBundle) requireLoads(t testing.TB) map[string]int {
	t.Helper()
	agents, err := b.db.Client.Agent.Query().All(b.ctx)
	require.NoError(t, err)
	loads := map[string]int{}
	for _, a := range agents {
		n, err := b.db.Client.Conversation.Query().
			Where(conversation.AssigneeID(a.ID), conversation.StatusNEQ(conversation.StatusRESOLVED)).Count(b.ctx)
		require.NoError(t, err)
		require.Equal(t, n, a.OpenCount, "load of %s", a.EmployeeCode)
		require.LessOrEqual(t, a.OpenCount, a.MaxConcurrent, "%s over capacity", a.EmployeeCode)
		loads[a.ID] = a.OpenCount
	}
	return loads
}

func TestLeastLoadedOnlineUnderCapacity(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, leastLoaded)
		busy := b.agent(t, "101", true, 5)
		free := b.agent(t, "102", true, 5)
		b.agent(t, "103", false, 5) // offline: never chosen
		full := b.agent(t, "104", true, 0)
		_ = full
		for range 2 {
			c := b.arrive(t, conversation.PriorityNORMAL)
			require.NoError(t, b.db.Client.Conversation.UpdateOneID(c.ID).SetAssigneeID(busy.ID).Exec(b.ctx))
		}

		c := b.arrive(t, conversation.PriorityNORMAL)
		d, err := b.svc.Route(b.ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, free.ID, d.AgentID)
		require.Equal(t, schematype.StrategyLeastLoaded, d.Strategy)
		require.Equal(t, free.ID, *b.conv(t, c.ID).AssigneeID)

		hist, err := b.db.Client.Assignment.Query().Where(assignment.ConversationID(c.ID)).All(b.ctx)
		require.NoError(t, err)
		require.Len(t, hist, 1)
		require.Equal(t, assignment.CausePOLICY, hist[0].Cause)
		require.Contains(t, hist[0].Reason, "least-loaded")
		loads := b.requireLoads(t)
		require.Equal(t, 2, loads[busy.ID])
		require.Equal(t, 1, loads[free.ID])
	})
}

func TestRoundRobinAndStickyFallback(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		pol := schematype.RoutingPolicy{Strategies: []schematype.RoutingStrategy{schematype.StrategySticky, schematype.StrategyRoundRobin},
			StickyWindowMinutes: 60}
		b := setup(t, db, pol)
		a1 := b.agent(t, "101", true, 10)
		a2 := b.agent(t, "102", true, 10)
		var got []string
		var convs []*ent.Conversation
		for range 4 {
			b.clock.Advance(time.Minute)
			c := b.arrive(t, conversation.PriorityNORMAL)
			d, err := b.svc.Route(b.ctx, c.ID)
			require.NoError(t, err)
			require.Equal(t, schematype.StrategyRoundRobin, d.Strategy, "a new contact has no last agent: the chain falls back")
			got = append(got, d.AgentID)
			convs = append(convs, c)
		}
		require.Equal(t, []string{a1.ID, a2.ID, a1.ID, a2.ID}, got)

		again := func() routing.Decision {
			c, err := b.db.Client.Conversation.Create().SetNumberID(b.number.ID).SetContactID(convs[1].ContactID).Save(b.ctx)
			require.NoError(t, err)
			d, err := b.svc.Route(b.ctx, c.ID)
			require.NoError(t, err)
			return d
		}
		// the second customer writes again within the hour: their agent, a2,
		// although round-robin would pick a1
		d := again()
		require.Equal(t, a2.ID, d.AgentID)
		require.Equal(t, schematype.StrategySticky, d.Strategy)
		// two hours later the window has passed: round-robin again
		b.clock.Advance(2 * time.Hour)
		d = again()
		require.Equal(t, schematype.StrategyRoundRobin, d.Strategy)
		require.Equal(t, a1.ID, d.AgentID)
	})
}

func TestQueueServedInOrderAsCapacityFrees(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, leastLoaded)
		a1 := b.agent(t, "101", true, 1)
		a2 := b.agent(t, "102", false, 1)
		box := inbox.NewService(db.Client, nil, nil, b.clock)

		held := b.arrive(t, conversation.PriorityNORMAL)
		d, err := b.svc.Route(b.ctx, held.ID)
		require.NoError(t, err)
		require.Equal(t, a1.ID, d.AgentID)

		var waiting []*ent.Conversation
		for _, p := range []conversation.Priority{conversation.PriorityNORMAL, conversation.PriorityLOW, conversation.PriorityNORMAL, conversation.PriorityURGENT} {
			c := b.arrive(t, p)
			d, err := b.svc.Route(b.ctx, c.ID)
			require.NoError(t, err)
			require.True(t, d.Queued)
			waiting = append(waiting, c)
		}
		q, err := b.svc.Queue().Limit(10).All(b.ctx)
		require.NoError(t, err)
		require.Equal(t, []string{waiting[3].ID, waiting[0].ID, waiting[2].ID, waiting[1].ID}, ids(q), "urgent first, then by arrival")
		stats, err := b.svc.Stats(b.ctx)
		require.NoError(t, err)
		require.Equal(t, 4, stats.Length)
		require.Equal(t, 3*time.Second, stats.LongestWait, "the first to wait arrived three arrivals ago")

		// resolving frees a1's place: the urgent one goes first
		_, err = box.Resolve(b.ctx, held.ID)
		require.NoError(t, err)
		n, err := b.svc.Drain(b.ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, a1.ID, *b.conv(t, waiting[3].ID).AssigneeID)

		// a2 comes online: the oldest normal one
		require.NoError(t, db.Client.Agent.UpdateOneID(a2.ID).SetPresence(agent.PresenceONLINE).Exec(b.ctx))
		n, err = b.svc.Drain(b.ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, a2.ID, *b.conv(t, waiting[0].ID).AssigneeID)

		// a1's capacity is raised to 3: the two left, in order
		require.NoError(t, db.Client.Agent.UpdateOneID(a1.ID).SetMaxConcurrent(3).Exec(b.ctx))
		n, err = b.svc.Drain(b.ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		for _, c := range []*ent.Conversation{waiting[2], waiting[1]} {
			got := b.conv(t, c.ID)
			require.Equal(t, a1.ID, *got.AssigneeID)
			require.Nil(t, got.QueuedAt)
		}
		stats, err = b.svc.Stats(b.ctx)
		require.NoError(t, err)
		require.Zero(t, stats.Length)
		b.requireLoads(t)

		// the history says it waited, then why it was assigned
		hist, err := b.db.Client.Assignment.Query().Where(assignment.ConversationID(waiting[1].ID)).
			Order(ent.Asc(assignment.FieldCreatedAt)).All(b.ctx)
		require.NoError(t, err)
		require.Len(t, hist, 2)
		require.Equal(t, assignment.CauseQUEUE, hist[0].Cause)
		require.Equal(t, assignment.CausePOLICY, hist[1].Cause)
	})
}

func TestLoadFollowsManualChanges(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, schematype.RoutingPolicy{})
		a1 := b.agent(t, "101", true, 5)
		a2 := b.agent(t, "102", true, 5)
		box := inbox.NewService(db.Client, nil, nil, b.clock)
		c1, c2 := b.arrive(t, conversation.PriorityNORMAL), b.arrive(t, conversation.PriorityNORMAL)
		steps := []func() error{
			func() error { _, err := box.Assign(b.ctx, c1.ID, &a1.ID); return err },
			func() error { _, err := box.Assign(b.ctx, c2.ID, &a1.ID); return err },
			func() error { _, err := box.Transfer(b.ctx, c1.ID, &a2.ID, nil); return err },
			func() error { _, err := box.Resolve(b.ctx, c2.ID); return err },
			func() error {
				_, err := box.SetStatus(b.ctx, c2.ID, conversation.StatusOPEN, nil)
				return err
			},
			func() error { _, err := box.Assign(b.ctx, c1.ID, nil); return err },
			func() error {
				return db.Client.Conversation.Update().Where(conversation.ID(c2.ID)).SetAssigneeID(a2.ID).Exec(b.ctx)
			},
		}
		for i, step := range steps {
			require.NoError(t, step(), "step %d", i)
			b.requireLoads(t)
		}
		d, err := b.svc.Route(b.ctx, c1.ID)
		require.NoError(t, err)
		require.Equal(t, routing.Decision{}, d, "a manually routed number assigns nothing")
	})
}

// TestTwoInstancesRace is the queue's promise across instances: two
// instances drain and route at once, 100 times; no conversation is assigned
// twice and no agent goes over capacity.
func TestTwoInstancesRace(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dbs := storetest.Instances(t, d, 2)
			b := setup(t, dbs[0], leastLoaded)
			agents := []*ent.Agent{b.agent(t, "101", true, 2), b.agent(t, "102", true, 3)}
			svcs := []*routing.Service{routing.New(dbs[0].Client, nil, b.clock), routing.New(dbs[1].Client, nil, b.clock)}
			for round := range 100 {
				// 7 arrivals for 5 places: both instances route every one
				var convs []*ent.Conversation
				for range 7 {
					convs = append(convs, b.arrive(t, conversation.PriorityNORMAL))
				}
				var wg sync.WaitGroup
				for _, svc := range svcs {
					wg.Go(func() {
						for _, c := range convs {
							_, err := svc.Route(b.ctx, c.ID)
							require.NoError(t, err)
						}
						_, err := svc.Drain(b.ctx)
						require.NoError(t, err)
					})
				}
				wg.Wait()
				assigned, err := b.db.Client.Assignment.Query().
					Where(assignment.ConversationIDIn(ids(convs)...), assignment.CauseEQ(assignment.CausePOLICY)).All(b.ctx)
				require.NoError(t, err)
				require.Len(t, assigned, 5, "round %d: every place taken once", round)
				seen := map[string]bool{}
				for _, a := range assigned {
					require.False(t, seen[a.ConversationID], "round %d: %s assigned twice", round, a.ConversationID)
					seen[a.ConversationID] = true
				}
				b.requireLoads(t)
				// everything is resolved for the next round
				require.NoError(t, b.db.Client.Conversation.Update().Where(conversation.StatusNEQ(conversation.StatusRESOLVED)).
					SetStatus(conversation.StatusRESOLVED).ClearQueuedAt().Exec(b.ctx))
				for _, a := range agents {
					require.Zero(t, b.reload(t, a).OpenCount)
				}
			}
		})
	}
}

func (b *testBundle) reload(t testing.TB, a *ent.Agent) *ent.Agent {
	t.Helper()
	a, err := b.db.Client.Agent.Get(b.ctx, a.ID)
	require.NoError(t, err)
	return a
}

func ids(cs []*ent.Conversation) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
