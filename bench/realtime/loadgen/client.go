package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

var (
	atKey      = []byte(`"at":"`)
	seqKey     = []byte(`"seq":`)
	pingType   = []byte(`"type":"ping"`)
	pong       = []byte(`{"type":"pong"}`)
	errorTypes = [][]byte{[]byte(`"type":"error"`), []byte(`"type":"complete"`)}
)

// httpClient dials with SO_LINGER 0: the benchmark's connections end with a
// reset, leaving no TIME_WAIT to exhaust loopback ports across runs.
var httpClient = &http.Client{Transport: &http.Transport{
	DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		return c, err
	},
}}

// read receives until the connection ends.
func (g *generator) read(ctx context.Context, ws *websocket.Conn) {
	buf := make([]byte, 0, 512)
	for {
		var err error
		buf, err = readMessage(ctx, ws, buf)
		if err != nil {
			if ctx.Err() == nil {
				g.dropped.Add(1)
			}
			return
		}
		g.receive(ctx, ws, buf)
	}
}

// receive accounts for one message: an event's latency, a ping to answer,
// an error or completion that should not happen.
func (g *generator) receive(ctx context.Context, ws *websocket.Conn, msg []byte) {
	now := time.Now()
	i := bytes.Index(msg, atKey)
	if i < 0 {
		switch {
		case bytes.Contains(msg, pingType):
			if g.phase.Load() == phaseMeasure {
				g.pings.Add(1)
			}
			_ = ws.Write(ctx, websocket.MessageText, pong)
		case bytes.Contains(msg, errorTypes[0]) || bytes.Contains(msg, errorTypes[1]):
			g.errors.Add(1)
			g.lastError.Store(string(msg))
		}
		return
	}
	rest := msg[i+len(atKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return
	}
	at, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	if err != nil {
		return
	}
	switch g.phase.Load() {
	case phaseWarm:
		g.warmed.Add(1)
	case phaseMeasure:
		lat := now.Sub(at)
		k := g.delivered.Add(1) - 1
		if k < int64(len(g.latencies)) {
			g.latencies[k] = lat
		}
		g.bytes.Add(int64(len(msg)))
		g.slowest(seqOf(msg), lat)
	}
}

// seqOf is the event's seq, or -1.
func seqOf(msg []byte) int {
	i := bytes.Index(msg, seqKey)
	if i < 0 {
		return -1
	}
	n := 0
	for _, b := range msg[i+len(seqKey):] {
		if b < '0' || b > '9' {
			break
		}
		n = n*10 + int(b-'0')
	}
	return n
}

// readMessage reads one message into buf, growing it as needed.
func readMessage(ctx context.Context, ws *websocket.Conn, buf []byte) ([]byte, error) {
	_, r, err := ws.Reader(ctx)
	if err != nil {
		return buf, err
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
