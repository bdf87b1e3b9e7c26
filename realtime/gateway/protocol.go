package gateway

import (
	"encoding/json"
	"strconv"

	"github.com/coder/websocket"
)

// Subprotocols.
const (
	ProtocolTransportWS = "graphql-transport-ws" // the graphql-ws library
	ProtocolLegacyWS    = "graphql-ws"           // subscriptions-transport-ws
)

// Close codes.
const (
	CloseInvalidMessage      websocket.StatusCode = 4400
	CloseUnauthorized        websocket.StatusCode = 4401
	CloseForbidden           websocket.StatusCode = 4403
	CloseSubprotocol         websocket.StatusCode = 4406
	CloseInitTimeout         websocket.StatusCode = 4408
	CloseDuplicateID         websocket.StatusCode = 4409
	CloseTooManyInit         websocket.StatusCode = 4429
	CloseInternal            websocket.StatusCode = 4500
	CloseGoingAway                                = websocket.StatusGoingAway // 1001: draining
	CloseTooSlow             websocket.StatusCode = 1013                      // try again later
	closeNormal                                   = websocket.StatusNormalClosure
	closeMessageTooBigStatus                      = websocket.StatusMessageTooBig
)

// inbound is a client message of either protocol.
type inbound struct {
	ID      *string         `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// kind is a protocol-neutral message kind.
type kind int

const (
	kindUnknown kind = iota
	kindInit
	kindPing
	kindPong
	kindSubscribe
	kindComplete // client: stop a subscription
	kindTerminate
)

// dialect maps one protocol's message names.
type dialect struct {
	inbound   map[string]kind
	ack       string
	next      string
	errorType string
	complete  string
	ping      string // server keepalive message
	pong      string
	// sse marks the event-stream dialect: frames are SSE events, errors go
	// in a next event, and a keepalive is a comment.
	sse bool
}

var dialects = map[string]*dialect{
	ProtocolTransportWS: {
		inbound: map[string]kind{
			"connection_init": kindInit, "ping": kindPing, "pong": kindPong,
			"subscribe": kindSubscribe, "complete": kindComplete,
		},
		ack: "connection_ack", next: "next", errorType: "error", complete: "complete", ping: "ping", pong: "pong",
	},
	ProtocolLegacyWS: {
		inbound: map[string]kind{
			"connection_init": kindInit, "start": kindSubscribe, "stop": kindComplete,
			"connection_terminate": kindTerminate,
		},
		ack: "connection_ack", next: "data", errorType: "error", complete: "complete", ping: "ka",
	},
}

// sseDialect is the event stream of a subscription over HTTP (gqlgen's SSE,
// the graphql-sse protocol's distinct connections mode): `next` events
// carrying responses, then `complete`.
var sseDialect = &dialect{next: "next", errorType: "next", complete: "complete", ping: "ping", sse: true}

// frame returns one message of the dialect: t, for subscription id, with
// payload (already JSON, or nil).
func (d *dialect) frame(t, id string, payload []byte) []byte {
	if !d.sse {
		return frame(t, id, payload)
	}
	if t == d.ping {
		return []byte(": ping\n\n")
	}
	b := make([]byte, 0, 24+len(payload))
	b = append(append(append(b, "event: "...), t...), '\n')
	if payload != nil {
		b = append(append(append(b, "data: "...), payload...), '\n')
	}
	return append(b, '\n')
}

// errors returns the message carrying errs (a JSON list) for subscription id.
func (d *dialect) errors(id string, errs []byte) []byte {
	if d.sse {
		return d.frame(d.errorType, id, append(append([]byte(`{"errors":`), errs...), '}'))
	}
	return frame(d.errorType, id, errs)
}

// nextPrefix and nextSuffix surround a response: fan-out frames the shared
// payload once per distinct prefix.
func (d *dialect) nextPrefix(id string) []byte {
	if d.sse {
		return []byte("event: next\ndata: ")
	}
	return nextPrefix(d, id)
}

func (d *dialect) nextSuffix() []byte {
	if d.sse {
		return []byte("\n\n")
	}
	return []byte("}")
}

// frame returns {"type":t} or {"type":t,"id":id,"payload":payload}; the
// payload is already JSON.
func frame(t string, id string, payload []byte) []byte {
	b := make([]byte, 0, 48+len(id)+len(payload))
	b = append(b, `{"type":`...)
	b = strconv.AppendQuote(b, t)
	if id != "" {
		b = append(b, `,"id":`...)
		b = appendJSONString(b, id)
	}
	if payload != nil {
		b = append(b, `,"payload":`...)
		b = append(b, payload...)
	}
	return append(b, '}')
}

// nextPrefix is `{"type":"next","id":"<id>","payload":` for one subscription:
// fan-out appends the shared payload and a brace.
func nextPrefix(d *dialect, id string) []byte {
	b := append([]byte(`{"type":`), strconv.Quote(d.next)...)
	b = append(b, `,"id":`...)
	b = appendJSONString(b, id)
	return append(b, `,"payload":`...)
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // never fails for a string
	return append(b, q...)
}
