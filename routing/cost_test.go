package routing_test

import (
	"fmt"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestRouteCost pins what routing an arrival costs: the conversation read
// with its number and tenant, one statement that chooses and claims the
// agent, the assignment, its history (4), whatever the number of agents;
// and 5 when nobody has room and the conversation waits (the read, the
// claim that finds nobody, the candidates read that confirms it, the queue
// write, its history).
func TestRouteCost(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		for _, step := range []schematype.RoutingStrategy{schematype.StrategyLeastLoaded, schematype.StrategyRoundRobin} {
			t.Run(d+"/"+string(step), func(t *testing.T) {
				t.Parallel()
				var counter storetest.Counter
				db := storetest.Open(t, d, store.WithDriver(counter.Wrap))
				b := setup(t, db, schematype.RoutingPolicy{Strategies: []schematype.RoutingStrategy{step}})
				for i := range 20 {
					b.agent(t, fmt.Sprint(101+i), true, 1)
				}
				for range 20 {
					c := b.arrive(t, conversation.PriorityNORMAL)
					counter.Reset()
					dec, err := b.svc.Route(b.ctx, c.ID)
					require.NoError(t, err)
					require.NotEmpty(t, dec.AgentID)
					require.Equal(t, 4, counter.Count(), strings.Join(counter.Statements(), "\n"))
				}
				c := b.arrive(t, conversation.PriorityNORMAL) // everyone is at capacity
				counter.Reset()
				dec, err := b.svc.Route(b.ctx, c.ID)
				require.NoError(t, err)
				require.True(t, dec.Queued)
				require.Equal(t, 5, counter.Count(), strings.Join(counter.Statements(), "\n"))
				b.requireLoads(t)
			})
		}
	}
}
