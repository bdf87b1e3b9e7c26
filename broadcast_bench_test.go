package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

// BenchmarkBroadcastDispatch sends a broadcast of a marketing template to
// BENCH_BROADCAST_RECIPIENTS contacts (10,000 when unset) spread over the
// simulator's numbers and reports the dispatch rate (first to last accepted
// send, as the simulator saw them) against the rate the simulator allows:
// the goal is at least 95 %. Two tiers: 3 numbers of 80 msg/s (the default
// throughput) and one number upgraded to 1,000 msg/s. cpu-ms/msg is the
// CPU this process (Switchboard, the simulator, the webhooks; not the
// Postgres server) spent per message from the broadcast's creation to DONE:
// what a loaded machine does not inflate.
func BenchmarkBroadcastDispatch(b *testing.B) {
	n := 10_000
	if v := os.Getenv("BENCH_BROADCAST_RECIPIENTS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err)
	}
	tiers := []struct{ numbers, perNumber int }{{3, 80}, {1, 1000}}
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		for _, tier := range tiers {
			b.Run(fmt.Sprintf("%s/%dx%d", d, tier.numbers, tier.perNumber), func(b *testing.B) {
				benchDispatch(b, d, n, tier.numbers, tier.perNumber)
			})
		}
	}
}

func benchDispatch(b *testing.B, d string, n, numbers, perNumber int) {
	counter := new(stmtCounter)
	// the App's warnings and the dispatcher's stages go to the output
	log := slog.New(stagesOnly{slog.NewTextHandler(os.Stderr, nil)})
	cast := setupBroadcastWith(b, d, numbers, perNumber, time.Now(), castOptions{store: []store.Option{store.WithDriver(counter.wrap)}, log: log})
	ctx := viewer.System(b.Context(), cast.tenantID)
	for start := 0; start < n; start += 1000 {
		var cs []*ent.ContactCreate
		for i := start; i < min(start+1000, n); i++ {
			cs = append(cs, cast.s.App.DB.Client.Contact.Create().SetWaID(fmt.Sprint(33690000000+i)).
				SetPhone(fmt.Sprint("+", 33690000000+i)).SetTags([]string{"bench"}))
		}
		require.NoError(b, cast.s.App.DB.Client.Contact.CreateBulk(cs...).Exec(ctx))
	}
	if d == dialect.Postgres {
		// production's pool (store.Open), not the 4 connections storetest
		// gives each test: the webhooks, River and the dispatchers share it
		cast.s.App.DB.SQL.SetMaxOpenConns(20)
		cast.s.App.DB.SQL.SetMaxIdleConns(10)
	}
	tpl := cast.template(b, sim.TextTemplate("bench", "en", "MARKETING", "Hello", false))
	for b.Loop() {
		cast.sim.ClearLog()
		counter.reset()
		stopAnalyze := func() {}
		if d == dialect.Postgres && os.Getenv("BENCH_BROADCAST_ANALYZE") != "off" {
			stopAnalyze = analyzeEvery(cast.s.App.DB, 2*time.Second)
		}
		cpu := cpuTime()
		id := cast.create(b, map[string]any{"name": "bench", "templateID": tpl, "tagsAll": []string{"bench"}, "sender": "SPREAD"}, "")
		// The harness's job clock is a clock.Fake: keep it on the
		// machine's time, so that a dispatch's continuation (after its
		// slice) and its snoozes come due as in production.
		for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
			cast.clock.Set(time.Now())
			if s, _ := cast.state(b, id); s == "DONE" {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("not done after 10 minutes: %d sends accepted, %+v", len(cast.sim.Log()), cast.stats(b, id))
			}
		}
		log := cast.sim.Log()
		require.Len(b, log, n)
		first, last := log[0].At, log[0].At
		for _, e := range log {
			first, last = minTime(first, e.At), maxTime(last, e.At)
		}
		rate := float64(n-1) / last.Sub(first).Seconds()
		cpuMs := float64((cpuTime() - cpu).Microseconds()) / 1000 / float64(n)
		// The statuses are ingested after the broadcast is DONE: what the
		// whole message costs is counted once none is left RECEIVED.
		drained := time.Now()
		drainFor := 5 * time.Minute
		if v := os.Getenv("BENCH_BROADCAST_DRAIN"); v != "" {
			drainFor, _ = time.ParseDuration(v)
		}
		// The simulator posts a message's statuses one after the other, each
		// once the previous one was acknowledged: a POST not yet stored is
		// not RECEIVED either. Done when every message has its sent and
		// delivered statuses acknowledged, the acknowledgements stopped
		// growing, and nothing is left RECEIVED.
		acked := func() int {
			k := 0
			for _, e := range cast.sim.Log() {
				k += len(e.Statuses)
			}
			return k
		}
		before := -1
		for deadline := time.Now().Add(drainFor); ; time.Sleep(300 * time.Millisecond) {
			cast.clock.Set(time.Now()) // the sweep's due times are on the service clock
			left, err := cast.s.App.DB.Client.WebhookDelivery.Query().
				Where(webhookdelivery.StateEQ(webhookdelivery.StateRECEIVED)).Count(viewer.Platform(b.Context()))
			require.NoError(b, err)
			now := acked()
			if left == 0 && now >= 2*n && now == before {
				break
			}
			before = now
			if time.Now().After(deadline) {
				stuck, err := cast.s.App.DB.Client.WebhookDelivery.Query().
					Where(webhookdelivery.StateEQ(webhookdelivery.StateRECEIVED)).Limit(3).All(viewer.Platform(b.Context()))
				require.NoError(b, err)
				for _, d := range stuck {
					b.Logf("still RECEIVED: %s attempts %d claim %q due %v error %q body %.300s", d.ID, d.Attempts, d.Claim, d.DueAt, d.Error, d.Body)
				}
				b.Fatalf("%d deliveries still RECEIVED %v after DONE", left, drainFor)
			}
		}
		lag := time.Since(drained)
		stopAnalyze()
		cpuAll := float64((cpuTime() - cpu).Microseconds()) / 1000 / float64(n)
		counts := counter.reset()
		// where the pace was lost: accepted sends per second of the run
		perSecond := make([]int, int(last.Sub(first).Seconds())+1)
		for _, e := range log {
			perSecond[int(e.At.Sub(first).Seconds())]++
		}
		b.Logf("%s %dx%d: %d recipients, %.1f msg/s, %.2f cpu-ms/msg to DONE, %.2f with the statuses ingested (%.1f s after DONE); %s\naccepted per second: %v",
			d, numbers, perNumber, n, rate, cpuMs, cpuAll, lag.Seconds(), summary(counts, n), perSecond)
		total := 0
		for k, v := range counts {
			if k != "BEGIN " {
				total += v
			}
		}
		b.ReportMetric(float64(total)/float64(n), "stmts/msg")
		b.ReportMetric(cpuMs, "cpu-ms/msg")
		b.ReportMetric(cpuAll, "cpu-ms/msg-ingested")
		b.ReportMetric(rate, "msg/s")
		b.ReportMetric(100*rate/float64(numbers*perNumber), "%-of-sim-rate")
	}
}

// analyzeEvery ANALYZEs the tables a broadcast grows, every interval until
// stop is called, as autovacuum does on a Postgres in service. The machines
// these benchmarks run on have autovacuum off (docs/notes.md), and a fresh
// schema has no statistics: a statement prepared while its tables were
// empty keeps the generic plan Postgres made then (a lookup by key walking
// an index by its prefix), which an ANALYZE invalidates. Without it the
// 1,000 msg/s tier on Postgres passed in 12 of 18 runs (48–105 %);
// BENCH_BROADCAST_ANALYZE=off runs without it.
func analyzeEvery(db *store.DB, interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for t := time.NewTicker(interval); ; {
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
				_, _ = db.SQL.ExecContext(ctx, "ANALYZE messages, conversations, broadcast_recipients, webhook_deliveries, contacts")
			}
		}
	}()
	return func() { cancel(); <-done }
}

// stagesOnly passes on warnings, errors and the dispatcher's stages.
type stagesOnly struct{ slog.Handler }

func (h stagesOnly) Enabled(context.Context, slog.Level) bool { return true }

func (h stagesOnly) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn && !strings.HasPrefix(r.Message, "broadcast: dispatch stages") {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
