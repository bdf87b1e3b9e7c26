package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/schema"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/routing"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/bulk"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// BenchmarkRouteArrival measures routing one new conversation by a
// least-loaded, online-only, capacity-aware policy: the small tenant (10
// agents, 100 open conversations) is the peer of the large one (1,000
// agents, 100,000 open conversations) in the same run. Reported: p50/p99
// of Route alone and the SQL statements it ran.
func BenchmarkRouteArrival(b *testing.B) {
	sizes := []struct{ agents, open int }{{10, 100}, {1000, 100_000}}
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		for _, size := range sizes {
			b.Run(fmt.Sprintf("%s/agents=%d/open=%d", d, size.agents, size.open), func(b *testing.B) {
				var counter storetest.Counter
				db := storetest.Open(b, d, store.WithDriver(counter.Wrap))
				ctx, numberID := seedRouting(b, db, size.agents, size.open)
				router := routing.New(db.Client, nil, clock.Real())
				contact, err := db.Client.Contact.Create().SetWaID("33600000001").Save(ctx)
				if err != nil {
					b.Fatal(err)
				}
				latencies := make([]time.Duration, 0, b.N)
				statements := 0
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					c, err := db.Client.Conversation.Create().SetNumberID(numberID).SetContactID(contact.ID).Save(ctx)
					if err != nil {
						b.Fatal(err)
					}
					counter.Reset()
					b.StartTimer()
					t0 := time.Now()
					dec, err := router.Route(ctx, c.ID)
					latencies = append(latencies, time.Since(t0))
					if err != nil || dec.AgentID == "" {
						b.Fatalf("route: %v %+v", err, dec)
					}
					statements = max(statements, counter.Count())
				}
				b.StopTimer()
				report(b, latencies)
				b.ReportMetric(float64(statements), "max-statements/op")
			})
		}
	}
}

// seedRouting makes a tenant with one number routed least-loaded, agents
// online with room for all, and open conversations spread evenly over them.
func seedRouting(b *testing.B, db *store.DB, agents, open int) (ctx context.Context, numberID string) {
	b.Helper()
	ten, err := db.Client.Tenant.Create().SetName("Bench").SetSlug("bench").Save(viewer.Platform(b.Context()))
	if err != nil {
		b.Fatal(err)
	}
	ctx = viewer.System(b.Context(), ten.ID)
	num, err := db.Client.Number.Create().SetPhone("+33100000009").SetDisplayName("Bench").
		SetRoutingPolicy(schematype.RoutingPolicy{Strategies: []schematype.RoutingStrategy{schematype.StrategyLeastLoaded}}).Save(ctx)
	if err != nil {
		b.Fatal(err)
	}
	perAgent := open / agents
	var agentIDs []string
	for i := 0; i < agents; i += 500 {
		var bulk []*ent.AgentCreate
		for j := i; j < min(i+500, agents); j++ {
			bulk = append(bulk, db.Client.Agent.Create().SetName(fmt.Sprint("Agent ", j)).SetEmail(fmt.Sprintf("a%d@bench.test", j)).
				SetPasswordHash("x").SetPresence(agent.PresenceONLINE).SetMaxConcurrent(1000))
		}
		as, err := db.Client.Agent.CreateBulk(bulk...).Save(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range as {
			agentIDs = append(agentIDs, a.ID)
		}
	}
	contacts := min(open, 1000)
	var contactIDs []string
	for i := 0; i < contacts; i += 500 {
		var bulk []*ent.ContactCreate
		for j := i; j < min(i+500, contacts); j++ {
			bulk = append(bulk, db.Client.Contact.Create().SetWaID(fmt.Sprint(33700000000+j)))
		}
		cs, err := db.Client.Contact.CreateBulk(bulk...).Save(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range cs {
			contactIDs = append(contactIDs, c.ID)
		}
	}
	// written in bulk (store/bulk), already assigned, and the loads counted
	// once (the hook would update an agent per row)
	at := time.Now().UTC().Format("2006-01-02 15:04:05.999999999-07:00")
	rows := make([][]any, 0, open)
	for i := range open {
		rows = append(rows, []any{fmt.Sprintf("cnv_bench%07d", i), at, at, ten.ID, num.ID,
			contactIDs[i%len(contactIDs)], agentIDs[min(i/max(perAgent, 1), len(agentIDs)-1)]})
	}
	if err := bulk.Insert(ctx, db.SQL, "conversations (id, created_at, updated_at, tenant_id, number_id, contact_id, assignee_id)", rows, ""); err != nil {
		b.Fatal(err)
	}
	if err := schema.RecountLoads(ctx, db.Client); err != nil {
		b.Fatal(err)
	}
	return ctx, num.ID
}
