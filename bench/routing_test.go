package bench

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
// of Route alone and the SQL statements it ran; logged: a histogram, each
// call's share (BEGIN, the statements, COMMIT) and what made the operations
// above 5 ms slow (phases_test.go).
func BenchmarkRouteArrival(b *testing.B) {
	sizes := []struct{ agents, open int }{{10, 100}, {1000, 100_000}}
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		for _, size := range sizes {
			b.Run(fmt.Sprintf("%s/agents=%d/open=%d", d, size.agents, size.open), func(b *testing.B) {
				r := newRouteBench(b, d, "", size.agents, size.open)
				b.ResetTimer()
				for range b.N {
					r.once(b)
				}
				b.StopTimer()
				r.report(b, b.Name())
			})
		}
	}
}

// BenchmarkRouteArrivalAB routes arrivals of the large tenant (1,000 agents,
// 100,000 open conversations) on two databases set up alike but for one
// setting, alternating between them operation by operation, so that both
// see the same machine:
//
//   - sqlite3/checkpoints: A keeps SQLite's automatic checkpoints, run by
//     the commit that takes the log past 1,000 pages
//     (_pragma=wal_autocheckpoint(1000)); B is what store.Open does, a
//     background checkpointer and none in a commit.
//   - {sqlite3,postgres}/claim_index: A has the agents' index of before
//     migration 0032, (tenant_id, presence, open_count), and its claim sorts
//     the tenant's agents; B has 0032's, in the claim's order.
//   - postgres/binary_parameters: A is lib/pq as store.Open opens it (each
//     statement with arguments prepared, then executed: two round trips); B
//     adds binary_parameters=yes (one round trip a statement) to the routing
//     pool only, the tenant being seeded through a plain pool (ent's JSON
//     columns are jsonb, which a binary []byte breaks: docs/notes.md).
//
// Reported: p50/p99 of each, and the write system calls per operation (on
// Postgres one per round trip).
func BenchmarkRouteArrivalAB(b *testing.B) {
	// oldClaimIndex puts back the agents' index before migration 0032:
	// routing's claim then sorts the tenant's agents.
	const oldClaimIndex = `DROP INDEX agent_tenant_id_presence_open_count_last_assigned_at_id;
CREATE INDEX agent_tenant_id_presence_open_count ON agents (tenant_id, presence, open_count)`
	for _, ab := range []struct {
		name, dialect string
		a, b          string // URL parameters of A and B
		aSQL          string // run on A after the seed
	}{
		{"sqlite3/checkpoints", dialect.SQLite, "_pragma=wal_autocheckpoint(1000)", "", ""},
		{"postgres/binary_parameters", dialect.Postgres, "", "binary_parameters=yes", ""},
		{"sqlite3/claim_index", dialect.SQLite, "", "", oldClaimIndex},
		{"postgres/claim_index", dialect.Postgres, "", "", oldClaimIndex},
	} {
		b.Run(ab.name, func(b *testing.B) {
			ra := newRouteBench(b, ab.dialect, ab.a, 1000, 100_000)
			rb := newRouteBench(b, ab.dialect, ab.b, 1000, 100_000)
			for _, q := range strings.Split(ab.aSQL, ";\n") {
				if q == "" {
					continue
				}
				if _, err := ra.db.SQL.ExecContext(b.Context(), q); err != nil {
					b.Fatal(err)
				}
				if ab.dialect == dialect.Postgres {
					if _, err := ra.db.SQL.ExecContext(b.Context(), "ANALYZE agents"); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ResetTimer()
			for i := range b.N {
				if i%2 == 0 { // alternate who goes first
					ra.once(b)
					rb.once(b)
				} else {
					rb.once(b)
					ra.once(b)
				}
			}
			b.StopTimer()
			for _, r := range []struct {
				name string
				r    *routeBench
			}{{"A " + cmp.Or(ab.a, "default"), ra}, {"B " + cmp.Or(ab.b, "default"), rb}} {
				r.r.report(b, r.name)
				b.ReportMetric(pctMS(r.r.latencies, 0.50), r.name[:1]+"-p50-ms")
				b.ReportMetric(pctMS(r.r.latencies, 0.99), r.name[:1]+"-p99-ms")
				b.ReportMetric(float64(r.r.writes)/float64(len(r.r.latencies)), r.name[:1]+"-writes/op")
			}
		})
	}
}

// routeBench is a seeded tenant and what routing its arrivals measured.
type routeBench struct {
	db         *store.DB
	ctx        context.Context
	numberID   string
	contactID  string
	router     *routing.Service
	counter    *storetest.Counter
	timer      *phases
	file       string
	latencies  []time.Duration
	traces     []opTrace
	statements int
	writes     int // write system calls of the process during the operations
}

// newRouteBench opens a database of dialect d, the routing pool with params
// added to its URL, and seeds a tenant of agents and open conversations.
func newRouteBench(b *testing.B, d, params string, agents, open int) *routeBench {
	r := &routeBench{counter: &storetest.Counter{}, timer: &phases{}}
	wrap := store.WithDriver(func(drv dialect.Driver) dialect.Driver { return r.timer.Wrap(r.counter.Wrap(drv)) })
	seedDB := r.open(b, d, params, wrap)
	ctx, numberID := seedRouting(b, seedDB, agents, open)
	r.ctx, r.numberID, r.router = ctx, numberID, routing.New(r.db.Client, nil, clock.Real())
	contact, err := seedDB.Client.Contact.Create().SetWaID("33600000001").Save(ctx)
	if err != nil {
		b.Fatal(err)
	}
	r.contactID = contact.ID
	r.file = sqliteFile(b, r.db)
	return r
}

// open sets r.db, the pool routing uses, and returns the pool to seed
// through: the same one, or on Postgres with params one without them.
func (r *routeBench) open(b *testing.B, d, params string, wrap store.Option) *store.DB {
	if params == "" {
		r.db = storetest.Open(b, d, wrap)
		return r.db
	}
	if d == dialect.SQLite {
		db, err := store.Open(b.Context(), "sqlite:"+filepath.Join(b.TempDir(), "route.db")+"?"+params, wrap)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		if err := db.Migrate(b.Context()); err != nil {
			b.Fatal(err)
		}
		r.db = db
		return db
	}
	seed := storetest.Open(b, d)
	var schemaName string
	if err := seed.SQL.QueryRowContext(b.Context(), "SELECT current_schema()").Scan(&schemaName); err != nil {
		b.Fatal(err)
	}
	u, err := url.Parse(os.Getenv(storetest.EnvDatabaseURL))
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schemaName)
	extra, err := url.ParseQuery(params)
	if err != nil {
		b.Fatal(err)
	}
	for k, v := range extra {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	db, err := store.Open(b.Context(), u.String(), wrap)
	if err != nil {
		b.Fatal(err)
	}
	db.SQL.SetMaxOpenConns(4)
	b.Cleanup(func() { db.Close() }) // before the seed pool drops the schema
	r.db = db
	return seed
}

// once routes one new conversation and records what it cost; the timer runs
// for Route alone.
func (r *routeBench) once(b *testing.B) {
	b.StopTimer()
	c, err := r.db.Client.Conversation.Create().SetNumberID(r.numberID).SetContactID(r.contactID).Save(r.ctx)
	if err != nil {
		b.Fatal(err)
	}
	r.counter.Reset()
	r.timer.take()
	gc0, file0, w0 := gcCycles(), fileStamp(r.file), writeCalls()
	b.StartTimer()
	t0 := time.Now()
	dec, err := r.router.Route(r.ctx, c.ID)
	took := time.Since(t0)
	b.StopTimer()
	r.writes += writeCalls() - w0
	if err != nil || dec.AgentID == "" {
		b.Fatalf("route: %v %+v", err, dec)
	}
	r.latencies = append(r.latencies, took)
	r.traces = append(r.traces, opTrace{total: took, calls: r.timer.take(), gc: gcCycles() != gc0, walCkp: file0 != fileStamp(r.file)})
	r.statements = max(r.statements, r.counter.Count())
	b.StartTimer()
}

func (r *routeBench) report(b *testing.B, name string) {
	histogram(b, name, r.traces, 5*time.Millisecond)
	if os.Getenv("ROUTE_BENCH_EXPLAIN") != "" {
		r.explainClaim(b, name)
	}
	if name == b.Name() {
		report(b, slices.Clone(r.latencies))
		b.ReportMetric(float64(r.statements), "max-statements/op")
		b.ReportMetric(float64(r.writes)/float64(len(r.latencies)), "writes/op")
	}
}

func pctMS(latencies []time.Duration, p float64) float64 {
	l := slices.Clone(latencies)
	slices.Sort(l)
	return float64(l[int(p*float64(len(l)-1))].Microseconds()) / 1000
}

// writeCalls is the number of write system calls this process made
// (/proc/self/io's syscw), -1 where that file does not exist. Against
// Postgres, lib/pq writes once per round trip.
func writeCalls() int {
	raw, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return -1
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
	if db.Dialect == dialect.Postgres {
		// statistics, as autovacuum keeps them in a database in service
		// (measured seconds after the seed, the planner would think the
		// tenant has one agent)
		if _, err := db.SQL.ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	return ctx, num.ID
}

// sqliteFile is the path of db's main file, "" on Postgres.
func sqliteFile(b *testing.B, db *store.DB) string {
	if db.Dialect != dialect.SQLite {
		return ""
	}
	var (
		seq        int
		name, file string
	)
	if err := db.SQL.QueryRowContext(b.Context(), "PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
		b.Fatal(err)
	}
	return file
}

// explainClaim prints the plan and timing of routing's last claim, run again
// in a transaction rolled back (ROUTE_BENCH_EXPLAIN=1).
func (r *routeBench) explainClaim(b *testing.B, name string) {
	if r.timer.lastClaim == "" {
		return
	}
	prefix := "EXPLAIN (ANALYZE, BUFFERS) "
	switch {
	case r.db.Dialect == dialect.SQLite:
		prefix = "EXPLAIN QUERY PLAN "
	case strings.HasPrefix(r.timer.lastClaim, "WITH"):
		// the plan only: run again, its history row would repeat its id
		prefix = "EXPLAIN "
	}
	tx, err := r.db.SQL.BeginTx(b.Context(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	rows, err := tx.QueryContext(b.Context(), prefix+r.timer.lastClaim, r.timer.lastClaimArgs...)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("%s: %s\n", name, r.timer.lastClaim)
	for _, vals := range scanAll(b, rows) {
		fmt.Printf("%s: %v\n", name, vals)
	}
}
