package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-dev/switchboard/bench/internal/benchws"
	"github.com/switchboard-dev/switchboard/bench/realtime/internal/wire"
)

// drain is how long deliveries may trail the last publish.
const drain = 30 * time.Second

// Phases: events received while warming up prove every subscription live;
// only those received while measuring count.
const (
	phaseSetup int32 = iota
	phaseWarm
	phaseMeasure
	phaseDone
)

type generator struct {
	ready       wire.Ready
	n, events   int
	rate        float64
	connectRate float64
	settle      time.Duration
	profile     string

	phase      atomic.Int32
	warmed     atomic.Int64
	delivered  atomic.Int64
	bytes      atomic.Int64
	pings      atomic.Int64
	errors     atomic.Int64
	dropped    atomic.Int64
	reconnects atomic.Int64
	lastError  atomic.Value
	latencies  []time.Duration // the first n×events deliveries while measuring
	// worst holds, per event (by seq modulo its length), its slowest
	// delivery in nanoseconds: which events were slow, and how slow.
	worst [256]atomic.Int64
}

func (g *generator) slowest(seq int, lat time.Duration) {
	if seq < 0 {
		return
	}
	w := &g.worst[seq%len(g.worst)]
	for {
		old := w.Load()
		if int64(lat) <= old || w.CompareAndSwap(old, int64(lat)) {
			return
		}
	}
}

// eventMaxima lists each measured event's slowest delivery, in ms, in seq
// order (seqs are consecutive within a run).
func (g *generator) eventMaxima() []float64 {
	var out []float64
	start := -1
	for i := range g.worst { // the measured seqs form one run modulo len(worst)
		prev := (i + len(g.worst) - 1) % len(g.worst)
		if g.worst[i].Load() > 0 && g.worst[prev].Load() == 0 {
			start = i
			break
		}
	}
	if start < 0 {
		return nil
	}
	for i := range g.worst {
		v := g.worst[(start+i)%len(g.worst)].Load()
		if v == 0 {
			break
		}
		out = append(out, ms(time.Duration(v)))
	}
	return out
}

// run connects the clients, measures the idle server, warms up, then
// measures the events' delivery.
func (g *generator) run(timeout time.Duration) (wire.Result, error) {
	res := wire.Result{Mode: g.ready.Mode, N: g.n, Events: g.events, Rate: g.rate, Expected: int64(g.n) * int64(g.events)}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	g.latencies = make([]time.Duration, res.Expected)

	connected, err := g.setUp(ctx, &res)
	if err != nil {
		return res, err
	}
	if err := g.warmUp(ctx, connected); err != nil {
		return res, err
	}
	if err := g.measure(ctx, &res); err != nil {
		return res, err
	}
	if e := g.errors.Load(); e > 0 {
		return res, fmt.Errorf("%d error or complete messages, the last: %.200v", e, g.lastError.Load())
	}
	if d := g.dropped.Load(); d > 0 {
		return res, fmt.Errorf("%d connections were closed by the server", d)
	}
	return res, nil
}

// setUp connects and subscribes every client, waits until the server holds
// every subscription and has been idle for g.settle, and records the
// server's memory and goroutines per connection.
func (g *generator) setUp(ctx context.Context, res *wire.Result) (int, error) {
	var before, idle wire.Stats
	if err := g.stats(&before); err != nil {
		return 0, err
	}
	start := time.Now()
	connected, err := g.connect(ctx)
	res.ConnectSec = time.Since(start).Seconds()
	res.Reconnects = g.reconnects.Load()
	if err != nil {
		return connected, err
	}
	if err := g.waitSubscribed(ctx, connected); err != nil {
		return connected, err
	}
	time.Sleep(g.settle)
	if err := g.stats(&idle); err != nil {
		return connected, err
	}
	perConn := func(after, before uint64) float64 { return float64(int64(after)-int64(before)) / float64(g.n) / 1024 }
	res.HeapKiBPer = perConn(idle.HeapInuse, before.HeapInuse)
	res.StackKiBPer = perConn(idle.StackInuse, before.StackInuse)
	res.KiBPerConn = res.HeapKiBPer + res.StackKiBPer
	res.SysKiBPer = perConn(idle.Sys, before.Sys)
	res.GoroutinesP = float64(idle.Goroutines-before.Goroutines) / float64(g.n)
	return connected, nil
}

// warmUp publishes one event that every client must receive, unmeasured.
func (g *generator) warmUp(ctx context.Context, connected int) error {
	g.phase.Store(phaseWarm)
	if err := g.publish(ctx, 1, 1); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if err := waitFor(ctx, 60*time.Second, func() bool { return g.warmed.Load() >= int64(connected) }); err != nil {
		return fmt.Errorf("warm-up: %d of %d clients received the event: %w", g.warmed.Load(), connected, err)
	}
	return nil
}

// measure has the server publish g.events at g.rate and waits for the
// deliveries, at most drain after the last publish; it records latencies and
// both sides' CPU time per event.
func (g *generator) measure(ctx context.Context, res *wire.Result) error {
	var before, after wire.Stats
	if err := g.currentStats(&before); err != nil {
		return err
	}
	clientCPU := wire.CPUSeconds()
	g.phase.Store(phaseMeasure)
	var profiled sync.WaitGroup
	if g.profile != "" {
		window := time.Duration(float64(g.events)/g.rate*float64(time.Second)) + 2*time.Second
		profiled.Go(func() { g.saveProfile(window) })
	}
	err := g.publish(ctx, g.events, g.rate)
	if err == nil {
		_ = waitFor(ctx, drain, func() bool { return g.delivered.Load() >= res.Expected })
	}
	g.phase.Store(phaseDone)
	res.ClientCPUms = (wire.CPUSeconds() - clientCPU) * 1000 / float64(g.events)
	if g.currentStats(&after) == nil {
		res.ServerCPUms = (after.CPUSeconds - before.CPUSeconds) * 1000 / float64(g.events)
		if after.Gateway != nil {
			res.ServerSent = after.Gateway.Sent
		}
	}
	profiled.Wait()

	res.ServerLoad = benchws.LoadAvg()
	res.Delivered = g.delivered.Load()
	res.Pings = g.pings.Load()
	res.EventMaxMs = g.eventMaxima()
	if res.Delivered > 0 {
		res.MsgBytes = float64(g.bytes.Load()) / float64(res.Delivered)
	}
	lat := g.latencies[:min(res.Delivered, res.Expected)]
	slices.Sort(lat)
	res.P50ms, res.P99ms = ms(percentile(lat, 0.50)), ms(percentile(lat, 0.99))
	if len(lat) > 0 {
		res.MaxMs = ms(lat[len(lat)-1])
	}
	return err
}

// connect opens the clients at the set pace and returns how many subscribed.
func (g *generator) connect(ctx context.Context) (int, error) {
	var (
		setup  sync.WaitGroup
		failed atomic.Int64
		last   atomic.Value
	)
	tick := time.NewTicker(time.Duration(float64(time.Second) / g.connectRate))
	defer tick.Stop()
	for range g.n {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return 0, fmt.Errorf("connecting: %w", ctx.Err())
		}
		setup.Add(1)
		go func() {
			ws, err := benchws.Dial{URL: g.ready.URL, Token: g.ready.Token, ID: wire.SubscriptionID, Query: wire.Subscription,
				Client: httpClient, Tries: 5, Backoff: 200 * time.Millisecond, Timeout: 20 * time.Second,
				OnRetry: func() { g.reconnects.Add(1) }}.Subscribe(ctx)
			if err != nil {
				failed.Add(1)
				last.Store(err.Error())
				setup.Done()
				return
			}
			setup.Done()
			g.read(ctx, ws)
		}()
	}
	setup.Wait()
	if f := failed.Load(); f > 0 {
		return g.n - int(f), fmt.Errorf("%d of %d clients could not subscribe, the last: %v", f, g.n, last.Load())
	}
	return g.n, nil
}

// waitSubscribed waits until the server holds every subscription.
func (g *generator) waitSubscribed(ctx context.Context, want int) error {
	var s wire.Stats
	err := waitFor(ctx, 60*time.Second, func() bool { return g.currentStats(&s) == nil && s.Subscribed >= want })
	if err != nil {
		return fmt.Errorf("the server holds %d of %d subscriptions: %w", s.Subscribed, want, err)
	}
	return nil
}

// currentStats reads the server's stats as they are.
func (g *generator) currentStats(s *wire.Stats) error {
	return wire.GetJSON(g.ready.Base+"/bench/stats", 30*time.Second, s)
}

// stats reads the server's stats after a collection.
func (g *generator) stats(s *wire.Stats) error {
	return wire.GetJSON(g.ready.Base+"/bench/stats?gc=1", 30*time.Second, s)
}

func (g *generator) publish(ctx context.Context, n int, rate float64) error {
	d := time.Duration(float64(n)/rate*float64(time.Second)) + time.Minute
	return wire.GetJSON(fmt.Sprintf("%s/bench/publish?n=%d&rate=%g", g.ready.Base, n, rate), min(d, time.Until(deadline(ctx))), nil)
}

func (g *generator) saveProfile(window time.Duration) {
	secs := int(math.Ceil(window.Seconds()))
	c := http.Client{Timeout: window + 30*time.Second}
	res, err := c.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", g.ready.Base, secs))
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: profile:", err)
		return
	}
	defer res.Body.Close()
	f, err := os.Create(g.profile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: profile:", err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, res.Body); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: profile:", err)
	}
}

func deadline(ctx context.Context) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(time.Hour)
	}
	return d
}

// waitFor polls done until it holds, for at most limit.
func waitFor(ctx context.Context, limit time.Duration, done func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return errTimeout
		case <-t.C:
		}
	}
	return nil
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(k, 0)]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }
