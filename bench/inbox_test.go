package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// concurrency: one client alone shows the latency of the work itself; eight
// in flight (a team refreshing their inboxes) show throughput on 2 cores.
var concurrency = []int{1, 8}

// BenchmarkInboxPage measures the 50-conversation inbox page (contact,
// assignee, number, last message per node) over HTTP on loopback, with a
// tenant holding 500 conversations.
func BenchmarkInboxPage(b *testing.B) {
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		b.Run(d, func(b *testing.B) {
			s := graphtest.New(b, storetest.Open(b, d), graph.Config{}, graphtest.Quiet())
			token := s.Inbox(b, "bench", 500)
			srv := httptest.NewServer(s.Handler)
			defer srv.Close()
			body, _ := json.Marshal(map[string]any{"query": graphtest.InboxQuery, "variables": map[string]any{"n": 50}})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
			do := func() error {
				req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := client.Do(req)
				if err != nil {
					return err
				}
				defer res.Body.Close()
				out, err := io.ReadAll(res.Body)
				if err == nil && (res.StatusCode != 200 || bytes.Contains(out, []byte(`"errors"`))) {
					b.Fatalf("status %d: %.300s", res.StatusCode, out)
				}
				return err
			}
			if err := do(); err != nil { // warm caches and connections
				b.Fatal(err)
			}
			for _, c := range concurrency {
				b.Run(fmt.Sprintf("clients=%d", c), func(b *testing.B) {
					b.ReportAllocs()
					report(b, run(b, b.N, c, do))
				})
			}
		})
	}
}

// run calls do n times from workers goroutines and returns each call's latency.
func run(b *testing.B, n, workers int, do func() error) []time.Duration {
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, n)
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, n/workers+1)
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				if err := do(); err != nil {
					b.Error(err)
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "req/s")
	return latencies
}

// report adds latency percentiles, in milliseconds.
func report(b *testing.B, latencies []time.Duration) {
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
