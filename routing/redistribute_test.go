package routing_test

import (
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/assignment"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/routing"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestNineOClockRedistribution: at 09:00 in the tenant's time zone the 50
// conversations left overnight (40 unassigned, 10 with agents who went home)
// are spread over the agents online by load: nobody over capacity, loads
// within one of each other, and two instances racing run the slot once.
func TestNineOClockRedistribution(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dbs := storetest.Instances(t, d, 2)
			b := setup(t, dbs[0], schematype.RoutingPolicy{})
			settings := schematype.TenantSettings{Redistributions: []schematype.RedistributionSchedule{
				{Name: "weekdays 09:00", Weekdays: []int{1, 2, 3, 4, 5}, At: "09:00"}}}
			require.NoError(t, b.db.Client.Tenant.UpdateOneID(b.tenant.ID).SetSettings(settings).Exec(b.ctx))

			var online []*ent.Agent
			for _, code := range []string{"101", "102", "103", "104", "105"} {
				online = append(online, b.agent(t, code, true, 12))
			}
			homeA, homeB := b.agent(t, "201", false, 12), b.agent(t, "202", false, 12)
			for i := range 50 {
				c := b.arrive(t, conversation.PriorityNORMAL)
				switch {
				case i < 5:
					require.NoError(t, b.db.Client.Conversation.UpdateOneID(c.ID).SetAssigneeID(homeA.ID).Exec(b.ctx))
				case i < 10:
					require.NoError(t, b.db.Client.Conversation.UpdateOneID(c.ID).SetAssigneeID(homeB.ID).Exec(b.ctx))
				}
			}
			// one already held by an agent online stays where it is
			kept := b.arrive(t, conversation.PriorityNORMAL)
			require.NoError(t, b.db.Client.Conversation.UpdateOneID(kept.ID).SetAssigneeID(online[0].ID).Exec(b.ctx))

			paris, err := time.LoadLocation("Europe/Paris")
			require.NoError(t, err)
			// Monday 30 November 2026, 08:59 in Paris (07:59 UTC)
			b.clock.Set(time.Date(2026, 11, 30, 8, 59, 0, 0, paris))
			svcs := []*routing.Service{routing.New(dbs[0].Client, nil, b.clock), routing.New(dbs[1].Client, nil, b.clock)}
			runs, err := svcs[0].RunDue(b.ctx)
			require.NoError(t, err)
			require.Empty(t, runs, "not yet 09:00")

			b.clock.Set(time.Date(2026, 11, 30, 9, 0, 20, 0, paris))
			var (
				wg  sync.WaitGroup
				mu  sync.Mutex
				all []*ent.RoutingRun
			)
			for _, svc := range svcs {
				wg.Go(func() {
					runs, err := svc.RunDue(b.ctx)
					require.NoError(t, err)
					mu.Lock()
					all = append(all, runs...)
					mu.Unlock()
				})
			}
			wg.Wait()
			require.Len(t, all, 1, "the slot runs once across instances")
			run := all[0]
			require.Equal(t, "2026-11-30T09:00", run.Slot)
			require.Equal(t, 50, run.MovedCount)
			require.Len(t, run.Moves, 50)
			require.NotNil(t, run.FinishedAt)

			loads := b.requireLoads(t) // nobody over capacity
			lo, hi := 100, 0
			for _, a := range online {
				lo, hi = min(lo, loads[a.ID]), max(hi, loads[a.ID])
			}
			require.LessOrEqual(t, hi-lo, 1, "equal capacities: loads within one (%d..%d)", lo, hi)
			require.Zero(t, loads[homeA.ID])
			require.Zero(t, loads[homeB.ID])
			require.Equal(t, online[0].ID, *b.conv(t, kept.ID).AssigneeID)
			n, err := b.db.Client.Assignment.Query().Where(assignment.CauseEQ(assignment.CauseREDISTRIBUTION)).Count(b.ctx)
			require.NoError(t, err)
			require.Equal(t, 50, n, "each move is in its conversation's history")

			// later ticks of the same slot, and Saturday's 09:00, run nothing
			b.clock.Set(time.Date(2026, 11, 30, 9, 3, 0, 0, paris))
			runs, err = svcs[1].RunDue(b.ctx)
			require.NoError(t, err)
			require.Empty(t, runs)
			b.clock.Set(time.Date(2026, 12, 5, 9, 0, 0, 0, paris))
			runs, err = svcs[1].RunDue(b.ctx)
			require.NoError(t, err)
			require.Empty(t, runs)
		})
	}
}
