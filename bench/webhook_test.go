package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/coder/websocket"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

const benchSecret = "bench app secret"

var benchLog io.Writer = io.Discard

// webhookBench is the App as the server builds it (webhook: signature, raw
// body stored, eager ingest, the sweep of stored deliveries; the API with its
// gateway), and a subscriber timing each new conversation.
type webhookBench struct {
	post      func(body []byte) int
	latencies chan time.Duration
	stored    func() int
	stages    func()
	// statements counts what the App sends through its ent client (River's
	// own statements go around it).
	statements *storetest.Counter
}

func setupWebhookBench(b *testing.B, d string) *webhookBench {
	log := slog.New(slog.NewTextHandler(benchLog, nil))
	counter := new(storetest.Counter)
	db := storetest.Open(b, d, store.WithDriver(counter.Wrap))
	if d == dialect.Postgres {
		db.SQL.SetMaxOpenConns(20) // the server's pool; storetest keeps tests at 4
		db.SQL.SetMaxIdleConns(10)
	}
	bus := realtime.NewMemory(realtime.WithBuffer(1 << 16))
	b.Cleanup(func() { _ = bus.Close() })
	s := graphtest.New(b, db, graph.Config{}, graphtest.WithBus(bus), graphtest.Quiet(),
		graphtest.WithApp(app.WithWorkers(true), app.WithLogger(log)),
		graphtest.WithConfig(func(c *app.Config) {
			c.WhatsAppAppSecret, c.JobPollInterval = []byte(benchSecret), 100*time.Millisecond // as the server
		}))
	tenantID, token := s.Tenant(b, "bench")
	if _, err := db.Client.Number.Create().SetPhone("+33600000001").SetDisplayName("Bench").
		SetPhoneNumberID("100200300").SetVerifiedAt(time.Now()).Save(viewer.System(b.Context(), tenantID)); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s.App.Handler())
	b.Cleanup(srv.Close)

	wb := &webhookBench{latencies: make(chan time.Duration, 1<<20), statements: counter}
	subscribe(b, strings.Replace(srv.URL, "http", "ws", 1)+"/graphql", token, wb.latencies)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	wb.post = func(body []byte) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/whatsapp", bytes.NewReader(body))
		req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign([]byte(benchSecret), body))
		res, err := client.Do(req)
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	wb.stages = func() { // BENCH_WINDOWS: where the time went, after the run
		rows, err := db.SQL.QueryContext(context.Background(), `SELECT body, created_at, processed_at FROM webhook_deliveries ORDER BY created_at`)
		if err != nil {
			b.Log(err)
			return
		}
		defer rows.Close()
		var stored, ingested []time.Duration
		for rows.Next() {
			var body []byte
			var created, processed time.Time
			if rows.Scan(&body, &created, &processed) != nil {
				continue
			}
			stored = append(stored, created.Sub(time.Unix(0, sentAt(body))))
			ingested = append(ingested, processed.Sub(created))
		}
		windows(b.Name()+" post → stored", stored)
		windows(b.Name()+" stored → ingested", ingested)
	}
	wb.stored = func() int { // around the counter: polling is not the App's cost
		var n int
		_ = db.SQL.QueryRowContext(context.Background(), `SELECT count(*) FROM messages`).Scan(&n)
		return n
	}
	return wb
}

// subscribe times, for every new conversation, the time since the body's
// send time (the message text is that time, in unix nanoseconds).
func subscribe(b *testing.B, url, token string, out chan<- time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		b.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	b.Cleanup(func() { _ = ws.CloseNow() })
	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":{"Authorization":"Bearer `+token+`"}}`))
	if _, _, err := ws.Read(ctx); err != nil {
		b.Fatal(err)
	}
	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"id":"c","type":"subscribe","payload":{"query":"subscription { conversationEvents(filter: {kinds: [CREATED]}) { conversation { lastMessage { body } } } }"}}`))
	go func() {
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			if sent := sentAt(data); sent != 0 {
				out <- time.Since(time.Unix(0, sent))
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // the subscription starts
}

var customer atomic.Int64

// inbound is a signed-to-be webhook: a new customer's text whose body is the
// send time.
func inbound() []byte {
	n := customer.Add(1)
	body, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "1", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]any{"display_phone_number": "33600000001", "phone_number_id": "100200300"},
			"contacts":          []any{map[string]any{"profile": map[string]any{"name": "Bench"}, "wa_id": fmt.Sprint(33700000000 + n)}},
			"messages": []any{map[string]any{
				"from": fmt.Sprint(33700000000 + n), "id": fmt.Sprintf("wamid.bench.%d", n),
				"timestamp": fmt.Sprint(time.Now().Unix()), "type": "text",
				"text": map[string]any{"body": fmt.Sprint(time.Now().UnixNano())},
			}},
		}}},
	}}})
	return body
}

// BenchmarkWebhookIngest posts signed webhooks, each a new customer's
// message: "max" as fast as 16 posters go, "rate=200" paced at 200 a second
// (below what this 2-core box saturates at, with the load generator and the
// database on it). It reports messages stored per second (from the first post until
// the last is stored) and the webhook-to-subscriber latency.
func BenchmarkWebhookIngest(b *testing.B) {
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		for _, mode := range []string{"max", "rate=200"} {
			b.Run(d+"/"+mode, func(b *testing.B) {
				wb := setupWebhookBench(b, d)
				before := wb.stored()
				wb.statements.Reset()
				start := time.Now()
				var wg sync.WaitGroup
				var failed atomic.Int64
				if mode == "max" {
					var next atomic.Int64
					for range 16 {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for next.Add(1) <= int64(b.N) {
								if wb.post(inbound()) != http.StatusOK {
									failed.Add(1)
								}
							}
						}()
					}
				} else {
					tick := time.NewTicker(5 * time.Millisecond)
					for range b.N {
						<-tick.C
						wg.Add(1)
						go func() {
							defer wg.Done()
							if wb.post(inbound()) != http.StatusOK {
								failed.Add(1)
							}
						}()
					}
					tick.Stop()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "posted/s")
				deadline := time.Now().Add(2 * time.Minute)
				for wb.stored()-before < b.N && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				elapsed := time.Since(start)
				statements := wb.statements.Count()
				if got := wb.stored() - before; got != b.N || failed.Load() > 0 {
					b.Fatalf("%d of %d stored, %d posts failed", got, b.N, failed.Load())
				}
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
				b.ReportMetric(float64(statements)/float64(b.N), "stmts/msg")
				if path := os.Getenv("BENCH_STATEMENTS"); path != "" {
					writeStatements(b, path+"."+strings.ReplaceAll(b.Name(), "/", "_"), wb.statements.Statements())
				}
				lat := drain(wb.latencies, b.N, 10*time.Second)
				if os.Getenv("BENCH_WINDOWS") != "" {
					wb.stages()
					windows(b.Name()+" post → subscriber", lat)
				}
				report(b, lat)
			})
		}
	}
}

// windows prints, for each 250 messages in turn, the median and the
// longest of what took them from one stage to the next, and how many took
// over 100 ms (BENCH_WINDOWS=1): whether a p99 is a warm-up, a stall or a
// queue that grows, and at which stage.
func windows(what string, ds []time.Duration) {
	for i := 0; i < len(ds); i += 250 {
		w := slices.Clone(ds[i:min(i+250, len(ds))])
		slices.Sort(w)
		slow := len(w) - sort.Search(len(w), func(j int) bool { return w[j] > 100*time.Millisecond })
		fmt.Fprintf(os.Stderr, "%s, messages %d–%d: p50 %v, max %v, %d over 100 ms\n", what, i, i+len(w)-1,
			w[len(w)/2].Round(time.Microsecond), w[len(w)-1].Round(time.Microsecond), slow)
	}
}

// sentAt is the send time a bench body carries as its text (unix ns).
func sentAt(body []byte) int64 {
	i := bytes.Index(body, []byte(`"body":"`))
	if i < 0 {
		return 0
	}
	rest := body[i+8:]
	sent, _ := strconv.ParseInt(string(rest[:max(bytes.IndexByte(rest, '"'), 0)]), 10, 64)
	return sent
}

// writeStatements writes the statements of a run to path by kind, most
// frequent first (BENCH_STATEMENTS=path), to see where a message's cost goes.
func writeStatements(b *testing.B, path string, statements []string) {
	counts := map[string]int{}
	for _, s := range statements {
		counts[s[:min(len(s), 160)]]++
	}
	var out strings.Builder
	for _, k := range slices.SortedFunc(maps.Keys(counts), func(x, y string) int { return counts[y] - counts[x] }) {
		fmt.Fprintf(&out, "%6.2f/msg %s\n", float64(counts[k])/float64(b.N), k)
	}
	if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
		b.Error(err)
	}
}

func drain(ch <-chan time.Duration, want int, wait time.Duration) []time.Duration {
	out := make([]time.Duration, 0, want)
	timeout := time.After(wait)
	for len(out) < want {
		select {
		case d := <-ch:
			out = append(out, d)
		case <-timeout:
			return out
		}
	}
	return out
}
