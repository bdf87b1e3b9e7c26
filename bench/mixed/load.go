package mixed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-dev/switchboard/bench/internal/benchws"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// load is the client side of one run: a websocket per agent and supervisor,
// and the customers' webhooks.
type load struct {
	ready Ready
	seed  *Seed
	track *tracker
	http  *http.Client
	run   string // makes this run's wamids unique

	errors    atomic.Int64 // error or complete messages, events with errors
	dropped   atomic.Int64 // connections the server closed
	lastError atomic.Value
}

// dialer ends connections with a reset (SO_LINGER 0), leaving no TIME_WAIT
// to exhaust loopback ports across runs.
func dialer(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, network, addr)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	return c, err
}

func newLoad(ready Ready, seed *Seed) *load {
	return &load{ready: ready, seed: seed, track: newTracker(seed), run: fmt.Sprint(time.Now().UnixNano()),
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: dialer, MaxIdleConnsPerHost: 64}}}
}

// connect opens every receiver's websocket, rate a second, and returns once
// all have subscribed (their reads go on until ctx ends).
func (l *load) connect(ctx, readCtx context.Context, rate float64) error {
	people := append(append([]Person(nil), l.seed.Agents...), l.seed.Supervisors...)
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	var (
		wg     sync.WaitGroup
		failed atomic.Int64
		last   atomic.Value
	)
	wsClient := &http.Client{Transport: &http.Transport{DialContext: dialer}}
	for r, p := range people {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("connecting: %w", ctx.Err())
		}
		wg.Go(func() {
			ws, err := benchws.Dial{URL: "ws" + l.ready.Base[len("http"):] + "/graphql", Token: p.Token, ID: "1", Query: Subscription,
				Client: wsClient, Tries: 3, Backoff: 500 * time.Millisecond, Timeout: 30 * time.Second}.Subscribe(ctx)
			if err != nil {
				failed.Add(1)
				last.Store(err)
				return
			}
			go l.read(readCtx, ws, r)
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d clients could not subscribe, the last: %v", f, len(people), last.Load())
	}
	return nil
}

// serverMessage is what the gateway sends a client.
type serverMessage struct {
	Type    string `json:"type"`
	Payload struct {
		Data struct {
			ConversationEvents struct {
				Conversation *struct {
					ID          string `json:"id"`
					UnreadCount int    `json:"unreadCount"`
				} `json:"conversation"`
			} `json:"conversationEvents"`
		} `json:"data"`
		Errors json.RawMessage `json:"errors"`
	} `json:"payload"`
}

// read receives receiver r's messages until the connection ends.
func (l *load) read(ctx context.Context, ws *websocket.Conn, r int) {
	defer ws.CloseNow()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				l.dropped.Add(1)
				l.lastError.Store(fmt.Sprintf("connection closed: %v", err))
			}
			return
		}
		now := time.Now()
		var m serverMessage
		if err := json.Unmarshal(data, &m); err != nil {
			l.problem(fmt.Sprintf("undecodable: %.200s", data))
			continue
		}
		switch m.Type {
		case "ping":
			_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"pong"}`))
		case "next":
			if len(m.Payload.Errors) > 0 && string(m.Payload.Errors) != "null" {
				l.problem(fmt.Sprintf("event with errors: %.300s", m.Payload.Errors))
			}
			if c := m.Payload.Data.ConversationEvents.Conversation; c != nil {
				l.track.receive(r, c.ID, c.UnreadCount, now)
			}
		case "error", "complete":
			l.problem(fmt.Sprintf("%.300s", data))
		}
	}
}

func (l *load) problem(s string) {
	l.errors.Add(1)
	l.lastError.Store(s)
}

// postAll posts n messages at rate a second, round-robin over the
// conversations from the first, each from its own goroutine so that a slow
// answer does not slow the pace, and returns once every post is answered.
func (l *load) postAll(ctx context.Context, n int, rate float64, measured bool, conversations []int) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	for i := range n {
		if i > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				wg.Wait()
				return
			}
		}
		conv := conversations[i%len(conversations)]
		body := l.webhook(conv)
		m := l.track.post(conv, measured)
		wg.Go(func() {
			if !l.postWebhook(ctx, body) {
				l.track.fail(m)
			}
		})
	}
	wg.Wait()
}

var seq atomic.Int64

// webhook is a signed-to-be WhatsApp webhook: the conversation's customer
// writes a text to its number.
func (l *load) webhook(conv int) []byte {
	c := l.seed.Conversations[conv]
	num := l.seed.Numbers[c.Number]
	n := seq.Add(1)
	body, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "1", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]any{"display_phone_number": num.DisplayPhone, "phone_number_id": num.PhoneNumberID},
			"contacts":          []any{map[string]any{"profile": map[string]any{"name": "Customer"}, "wa_id": c.WaID}},
			"messages": []any{map[string]any{
				"from": c.WaID, "id": fmt.Sprintf("wamid.mixed.%s.%d", l.run, n),
				"timestamp": fmt.Sprint(time.Now().Unix()), "type": "text",
				"text": map[string]any{"body": fmt.Sprintf("message %d", n)},
			}},
		}}},
	}}})
	return body
}

// postWebhook posts body signed with the app secret; true when answered 200.
func (l *load) postWebhook(ctx context.Context, body []byte) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.ready.Base+"/webhooks/whatsapp", bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign([]byte(l.seed.AppSecret), body))
	res, err := l.http.Do(req)
	if err != nil {
		l.problem(fmt.Sprintf("webhook: %v", err))
		return false
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		l.problem(fmt.Sprintf("webhook: %s", res.Status))
		return false
	}
	return true
}
