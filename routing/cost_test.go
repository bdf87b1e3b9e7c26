package routing_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/assignment"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestRouteCost pins what routing an arrival costs: the conversation read
// with its number and tenant, one statement that chooses and claims the
// agent, the assignment, its history (4), whatever the number of agents; on
// Postgres the last three are one statement (2); and 5 when nobody has room
// and the conversation waits (the read, the claim that finds nobody, the
// candidates read that confirms it, the queue write, its history). Either
// way the conversation is assigned and its history says by whom and why.
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
					want := map[string]int{dialect.SQLite: 4, dialect.Postgres: 2}[d]
					require.Equal(t, want, counter.Count(), strings.Join(counter.Statements(), "\n"))
					got, err := db.Client.Conversation.Get(b.ctx, c.ID)
					require.NoError(t, err)
					require.Equal(t, dec.AgentID, *got.AssigneeID)
					require.Nil(t, got.QueuedAt)
					h, err := db.Client.Assignment.Query().Where(assignment.ConversationID(c.ID)).Only(b.ctx)
					require.NoError(t, err)
					require.Equal(t, dec.AgentID, *h.AgentID)
					require.Nil(t, h.FromAgentID)
					require.Equal(t, c.ContactID, h.ContactID)
					require.Equal(t, assignment.CausePOLICY, h.Cause)
					require.Equal(t, string(step), h.Strategy)
					require.Equal(t, dec.Reason, h.Reason)
					require.Equal(t, b.tenant.ID, h.TenantID)
					require.True(t, strings.HasPrefix(h.ID, "asg_"), h.ID)
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

// An arrival on a number routed by hand costs routing nothing when the
// caller passes the number it read (the webhook ingest does): RouteTx would
// lock and read the conversation to change nothing. Passed a number with a
// policy, or no number, Arrived routes as before.
func TestArrivedOnANumberRoutedByHand(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			var counter storetest.Counter
			db := storetest.Open(t, d, store.WithDriver(counter.Wrap))
			b := setup(t, db, schematype.RoutingPolicy{}) // by hand
			b.agent(t, "101", true, 5)
			arrived := func(c *ent.Conversation) int {
				counter.Reset()
				require.NoError(t, store.WithTx(b.ctx, db.Client, func(ctx context.Context, tx *ent.Tx) error {
					return b.svc.Arrived(ctx, tx, c, nil, true)
				}))
				return counter.Count()
			}
			c := b.arrive(t, conversation.PriorityNORMAL)
			c.Edges.Number = b.number
			require.Zero(t, arrived(c), strings.Join(counter.Statements(), "\n"))
			require.Nil(t, b.conv(t, c.ID).AssigneeID)

			c.Edges.Number = nil // not passed: read, and left alone
			require.Equal(t, 1, arrived(c), strings.Join(counter.Statements(), "\n"))
			require.Nil(t, b.conv(t, c.ID).AssigneeID)

			// the number's policy changes: its conversations are routed
			num, err := db.Client.Number.UpdateOne(b.number).SetRoutingPolicy(leastLoaded).Save(b.ctx)
			require.NoError(t, err)
			c.Edges.Number = num
			require.Positive(t, arrived(c))
			require.NotNil(t, b.conv(t, c.ID).AssigneeID, "a number with a policy routes its arrivals")
		})
	}
}
