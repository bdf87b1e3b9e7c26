// Package benchws is what the benchmarks' load generators share: opening a
// graphql-transport-ws subscription the way a client does, and the machine's
// load to print beside a figure.
package benchws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Dial is one subscription's opening.
type Dial struct {
	URL    string       // ws://host:port/graphql
	Token  string       // sent as connection_init's Authorization
	ID     string       // the subscription's id
	Query  string       // the subscription document
	Client *http.Client // the HTTP client to dial with

	Tries   int           // dial attempts (at least 1)
	Backoff time.Duration // attempt n waits n × Backoff first
	Timeout time.Duration // for each attempt's dial and handshake
	OnRetry func()        // called before each retry, or nil
}

// Subscribe dials (retried), sends connection_init with the token, waits for
// the ack (skipping pings) and subscribes. The connection reads messages of up
// to 1 MiB.
func (d Dial) Subscribe(ctx context.Context) (*websocket.Conn, error) {
	var err error
	for attempt := range max(d.Tries, 1) {
		if attempt > 0 {
			if d.OnRetry != nil {
				d.OnRetry()
			}
			time.Sleep(time.Duration(attempt) * d.Backoff)
		}
		var ws *websocket.Conn
		dctx, cancel := context.WithTimeout(ctx, d.Timeout)
		ws, _, err = websocket.Dial(dctx, d.URL, &websocket.DialOptions{HTTPClient: d.Client, Subprotocols: []string{"graphql-transport-ws"}})
		if err == nil {
			ws.SetReadLimit(1 << 20)
			if err = d.handshake(dctx, ws); err != nil {
				_ = ws.CloseNow()
			}
		}
		cancel()
		if err == nil {
			return ws, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

var ackType = []byte(`"type":"connection_ack"`)

func (d Dial) handshake(ctx context.Context, ws *websocket.Conn) error {
	init, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]string{"Authorization": "Bearer " + d.Token}})
	if err := ws.Write(ctx, websocket.MessageText, init); err != nil {
		return err
	}
	for {
		_, msg, err := ws.Read(ctx)
		if err != nil {
			return fmt.Errorf("waiting for connection_ack: %w", err)
		}
		if bytes.Contains(msg, ackType) {
			break
		}
		if !bytes.Contains(msg, []byte(`"ping"`)) {
			return fmt.Errorf("connection_init answered %.200s", msg)
		}
	}
	sub, _ := json.Marshal(map[string]any{"id": d.ID, "type": "subscribe", "payload": map[string]string{"query": d.Query}})
	return ws.Write(ctx, websocket.MessageText, sub)
}

// LoadAvg is the first three fields of /proc/loadavg, or "?".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
