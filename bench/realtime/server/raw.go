package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-dev/switchboard/bench/realtime/internal/wire"
)

// rawTransport is the floor: graphql-transport-ws reduced to what a client
// needs to receive (connection_init is acknowledged, subscribe recorded,
// ping answered), and each event written as the bytes the gateway would send
// for it, built once per subscription id and written by a few goroutines,
// each to its share of the connections. One goroutine per connection: its
// reader.
type rawTransport struct {
	b       *bench
	writers int

	mu    sync.Mutex
	subs  map[*websocket.Conn]string // connection → subscription id
	seq   int
	write sync.Mutex // one broadcast at a time, as a bus delivers in order
}

func newRawTransport(b *bench, writers int) *rawTransport {
	return &rawTransport{b: b, writers: max(writers, 1), subs: map[*websocket.Conn]string{}}
}

// inbound is a client message.
type inbound struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func (t *rawTransport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return
	}
	ws.SetReadLimit(64 << 10)
	defer func() {
		t.mu.Lock()
		delete(t.subs, ws)
		t.mu.Unlock()
		_ = ws.CloseNow()
	}()
	ctx := context.WithoutCancel(r.Context())
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		var m inbound
		if json.Unmarshal(data, &m) != nil {
			return
		}
		switch m.Type {
		case "connection_init":
			err = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_ack"}`))
		case "ping":
			err = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"pong"}`))
		case "subscribe":
			t.mu.Lock()
			t.subs[ws] = m.ID
			t.mu.Unlock()
		case "complete":
			t.mu.Lock()
			delete(t.subs, ws)
			t.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

func (t *rawTransport) publish(ctx context.Context) error {
	t.write.Lock()
	defer t.write.Unlock()
	t.mu.Lock()
	t.seq++
	conns := make([]*websocket.Conn, 0, len(t.subs))
	ids := make([]string, 0, len(t.subs))
	for c, id := range t.subs {
		conns = append(conns, c)
		ids = append(ids, id)
	}
	seq := t.seq
	t.mu.Unlock()

	payload := t.payload(seq, time.Now().UTC().Truncate(time.Microsecond)) // the bus's clock
	messages := map[string][]byte{}
	for _, id := range ids {
		if messages[id] == nil {
			messages[id] = nextMessage(id, payload)
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second) // the gateway's write deadline
	defer cancel()
	var wg sync.WaitGroup
	share := (len(conns) + t.writers - 1) / t.writers
	for lo := 0; lo < len(conns); lo += share {
		hi := min(lo+share, len(conns))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				if err := conns[i].Write(ctx, websocket.MessageText, messages[ids[i]]); err != nil {
					_ = conns[i].CloseNow()
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// payload is the GraphQL result of wire.Subscription for one event, shaped
// as gqlgen serializes it: {"data":{"conversationEvents":{…}}}.
func (t *rawTransport) payload(seq int, at time.Time) []byte {
	b := []byte(`{"data":{"conversationEvents":{"seq":`)
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, `,"kind":"STATUS_CHANGED","at":`...)
	b = strconv.AppendQuote(b, at.Format(time.RFC3339Nano))
	b = append(b, `,"conversation":{"id":`...)
	b = strconv.AppendQuote(b, t.b.conversationID)
	b = append(b, `,"status":`...)
	b = strconv.AppendQuote(b, t.b.conversation)
	return append(b, `}}}}`...)
}

// nextMessage is the graphql-transport-ws "next" message, as the gateway
// frames it.
func nextMessage(id string, payload []byte) []byte {
	b := []byte(`{"type":"next","id":`)
	b = strconv.AppendQuote(b, id)
	b = append(b, `,"payload":`...)
	b = append(b, payload...)
	return append(b, '}')
}

func (t *rawTransport) stats(s *wire.Stats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.Subscribed = len(t.subs)
}
