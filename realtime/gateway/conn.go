package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// conn is one live connection: a websocket, or an event stream (SSE) that
// carries a single subscription. Both are admitted, capped, revoked,
// re-admitted and counted for presence alike.
type conn struct {
	g      *Gateway
	ws     *websocket.Conn // nil for an event stream
	wire   wire
	d      *dialect
	exec   graphql.GraphExecutor
	header string // the upgrade request's Authorization, for Config.Credential

	base   context.Context // lives as long as the connection
	cancel context.CancelFunc

	// writingSince is when the write in progress began (unix nanoseconds), 0
	// when none is: the gateway's watchdog closes a connection whose write
	// outlives Config.WriteTimeout.
	writingSince atomic.Int64

	mu         sync.Mutex
	initSeen   bool
	admitted   bool
	credential string
	ctx        context.Context // admitted: operations run in it
	who        Identity
	subs       map[string]*sub
	queue      []outbound
	scheduled  bool
	closed     bool
	initTimer  *time.Timer
	expiry     *time.Timer // closes the connection when its credential expires
	// single marks an event stream: it ends once its one subscription has.
	single bool
}

// wire is what a connection's messages travel on.
type wire interface {
	write(data []byte) error
	// end closes the transport with code and reason; it may wait for the peer.
	end(code websocket.StatusCode, reason string)
	// abort drops the transport at once, failing a write in progress.
	abort()
}

type wsWire struct{ ws *websocket.Conn }

func (w wsWire) write(data []byte) error {
	// No context per write (a timer and a cancellation each, at every
	// message to every client): the watchdog enforces WriteTimeout.
	return w.ws.Write(context.Background(), websocket.MessageText, data)
}

func (w wsWire) end(code websocket.StatusCode, reason string) { _ = w.ws.Close(code, reason) }
func (w wsWire) abort()                                       { _ = w.ws.CloseNow() }

type outbound struct {
	data     []byte
	coalesce string // subscription id of a state-like payload, or ""
}

// sub is one live subscription of a connection.
type sub struct {
	id       string
	prefix   []byte // {"type":"next","id":…,"payload":
	suffix   []byte // }
	coalesce bool
	params   *graphql.RawParams
	group    *group
	// fingerprint: Config.Fingerprint of the context group runs in.
	fingerprint string
	// moving: a re-admission is taking it from group (handOver); another
	// leaves it alone.
	moving bool
	cancel context.CancelFunc // single-result operations
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:   []string{ProtocolTransportWS, ProtocolLegacyWS},
		OriginPatterns: g.cfg.OriginPatterns,
	})
	if err != nil {
		return // Accept answered the request
	}
	d := dialects[ws.Subprotocol()]
	if d == nil {
		_ = ws.Close(CloseSubprotocol, "subprotocol not acceptable: use graphql-transport-ws or graphql-ws")
		return
	}
	ws.SetReadLimit(g.cfg.ReadLimit)
	// Nothing of the request is kept: its context, values and headers would
	// stay alive as long as the socket.
	base, cancel := context.WithCancel(context.Background())
	c := &conn{g: g, ws: ws, wire: wsWire{ws}, d: d, exec: exec, header: r.Header.Get("Authorization"), base: base, cancel: cancel, subs: map[string]*sub{}}
	c.mu.Lock()
	c.initTimer = time.AfterFunc(g.cfg.InitTimeout, func() {
		c.mu.Lock()
		admitted := c.admitted
		c.mu.Unlock()
		if !admitted {
			c.close(CloseInitTimeout, "connection initialisation timeout")
		}
	})
	c.mu.Unlock()
	// The reader gets a goroutine of its own rather than staying on the HTTP
	// handler's: that stack, deep with net/http's and gqlgen's frames, would
	// stay grown for the socket's whole life.
	go c.readLoop()
}

// readLoop is the connection's one goroutine. It reads without a deadline:
// close ends the read by closing the socket.
func (c *conn) readLoop() {
	defer c.close(closeNormal, "")
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			if websocket.CloseStatus(err) == closeMessageTooBigStatus {
				c.close(closeMessageTooBigStatus, "message too big")
			}
			return
		}
		if typ != websocket.MessageText {
			c.close(CloseInvalidMessage, "messages must be text")
			return
		}
		var m inbound
		if err := json.Unmarshal(data, &m); err != nil {
			c.close(CloseInvalidMessage, "invalid message: not JSON")
			return
		}
		if !c.handle(m) {
			return
		}
	}
}

// handle acts on one message; false ends the connection.
func (c *conn) handle(m inbound) bool {
	switch c.d.inbound[m.Type] {
	case kindInit:
		return c.init(m.Payload)
	case kindPing:
		c.enqueue(c.d.frame(c.d.pong, "", m.Payload), "")
	case kindPong:
	case kindSubscribe:
		return c.subscribe(m)
	case kindComplete:
		if m.ID == nil {
			c.close(CloseInvalidMessage, "complete without an id")
			return false
		}
		c.stop(*m.ID)
	case kindTerminate:
		c.close(closeNormal, "")
		return false
	default:
		c.close(CloseInvalidMessage, "unknown message type "+quoteShort(m.Type))
		return false
	}
	return true
}

func (c *conn) init(payload json.RawMessage) bool {
	c.mu.Lock()
	if c.initSeen {
		c.mu.Unlock()
		c.close(CloseTooManyInit, "too many initialisation requests")
		return false
	}
	c.initSeen = true
	c.mu.Unlock()

	var p map[string]any
	if len(payload) > 0 && string(payload) != "null" {
		if err := json.Unmarshal(payload, &p); err != nil {
			c.close(CloseInvalidMessage, "connection_init payload must be an object")
			return false
		}
	}
	if !c.admit(c.g.cfg.Credential(c.header, p)) {
		return false
	}
	c.enqueue(c.d.frame(c.d.ack, "", nil), "")
	return true
}

// admit authenticates the connection's credential and registers it, under
// the caps, for revocation and presence; on a refusal it closes the
// connection and returns false. Every transport admits through here.
func (c *conn) admit(credential string) bool {
	ctx, who, err := c.g.cfg.Admit(c.base, credential)
	if err != nil {
		c.refuse(err)
		return false
	}
	c.mu.Lock()
	c.credential, c.ctx, c.who, c.header = credential, context.WithValue(ctx, gatewayKey{}, c.g), who, ""
	c.mu.Unlock()
	if reason := c.g.register(c); reason != "" {
		c.close(CloseForbidden, "forbidden: "+reason)
		return false
	}
	c.mu.Lock()
	if c.closed { // closed while it registered: close could not unregister it
		c.mu.Unlock()
		c.g.unregister(c)
		return false
	}
	c.admitted = true
	if c.initTimer != nil {
		c.initTimer.Stop()
		c.initTimer = nil
	}
	if !who.ExpiresAt.IsZero() {
		c.expiry = time.AfterFunc(time.Until(who.ExpiresAt), func() {
			c.close(CloseForbidden, "forbidden: the credential expired: reconnect with a fresh access token")
		})
	}
	c.mu.Unlock()
	if c.g.cfg.OnConnect != nil {
		c.g.cfg.OnConnect(who)
	}
	return true
}

func (c *conn) subscribe(m inbound) bool {
	c.mu.Lock()
	admitted, ctx := c.admitted, c.ctx
	c.mu.Unlock()
	if !admitted {
		c.close(CloseUnauthorized, "unauthorized: send connection_init first")
		return false
	}
	if m.ID == nil || *m.ID == "" {
		c.close(CloseInvalidMessage, "subscribe without an id")
		return false
	}
	id := *m.ID
	// Numbers in variables stay json.Number, as gqlgen's own transports
	// decode them: its Int scalar refuses a float64, so `after: $after`
	// would fail for every browser resuming a subscription.
	var params graphql.RawParams
	dec := json.NewDecoder(bytes.NewReader(m.Payload))
	dec.UseNumber()
	if err := dec.Decode(&params); err != nil {
		c.close(CloseInvalidMessage, "subscribe payload must be {query, variables, operationName, extensions}")
		return false
	}
	c.mu.Lock()
	if _, dup := c.subs[id]; dup {
		c.mu.Unlock()
		c.close(CloseDuplicateID, "subscriber for "+quoteShort(id)+" already exists")
		return false
	}
	if len(c.subs) >= c.g.cfg.MaxSubscriptions {
		c.mu.Unlock()
		c.sendErrors(id, gqlerror.Errorf("too many subscriptions on this connection (at most %d)", c.g.cfg.MaxSubscriptions))
		return true
	}
	s := &sub{id: id, prefix: c.d.nextPrefix(id), suffix: c.d.nextSuffix(), params: &params}
	c.subs[id] = s
	c.mu.Unlock()
	c.start(ctx, s)
	return true
}

// start runs a subscription's operation: a subscription joins the group for
// its question, anything else executes once.
func (c *conn) start(ctx context.Context, s *sub) {
	params := *s.params
	params.ReadTime = graphql.TraceTiming{Start: graphql.Now(), End: graphql.Now()}
	ctx = graphql.StartOperationTrace(ctx)
	rc, errs := c.exec.CreateOperationContext(ctx, &params)
	if errs != nil {
		c.forget(s.id)
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		c.fail(s.id, resp.Errors...)
		return
	}
	if rc.Operation.Operation != ast.Subscription {
		c.runOnce(ctx, s, rc)
		return
	}
	field := ""
	isResume := false
	if len(rc.Operation.SelectionSet) > 0 {
		if f, ok := rc.Operation.SelectionSet[0].(*ast.Field); ok {
			field = f.Name
			// The replay from a non-null after runs once, when an execution
			// starts: a late joiner sharing it would miss it.
			isResume = f.ArgumentMap(rc.Variables)["after"] != nil
		}
	}
	if _, ok := ResumeFrom(ctx); ok {
		isResume = true
	}
	s.coalesce = c.g.cfg.Coalesce(field)
	c.g.join(ctx, c, s, rc, !isResume && !c.g.cfg.Personal(field))
}

func (c *conn) runOnce(ctx context.Context, s *sub, rc *graphql.OperationContext) {
	ctx, cancel := context.WithCancel(graphql.WithOperationContext(ctx, rc))
	c.mu.Lock()
	s.cancel = cancel
	c.mu.Unlock()
	go func() {
		defer cancel()
		responses, ctx := c.exec.DispatchOperation(ctx, rc)
		if resp := responses(ctx); resp != nil {
			b, err := json.Marshal(resp)
			if err != nil {
				c.forget(s.id)
				c.fail(s.id, gqlerror.Errorf("internal error"))
				return
			}
			c.enqueue(append(append(append([]byte{}, s.prefix...), b...), s.suffix...), "")
		}
		if c.forget(s.id) {
			c.complete(s.id)
		}
	}()
}

// stop ends a subscription at the client's request.
func (c *conn) stop(id string) {
	c.mu.Lock()
	s := c.subs[id]
	delete(c.subs, id)
	var grp *group
	if s != nil {
		grp, s.group = s.group, nil
	}
	c.mu.Unlock()
	if s == nil {
		return
	}
	if s.cancel != nil {
		s.cancel()
	}
	if grp != nil {
		grp.leave(s)
	}
}

// forgetMember drops subscription s when grp, the execution it belongs to,
// ended; false if s was stopped or has moved to another execution (a
// re-admission restarts it): that one answers for it.
func (c *conn) forgetMember(grp *group, s *sub) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subs[s.id] != s || s.group != grp {
		return false
	}
	delete(c.subs, s.id)
	return true
}

// forget drops a finished subscription; false if it was already gone.
func (c *conn) forget(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.subs[id]
	delete(c.subs, id)
	return ok
}

func (c *conn) sendErrors(id string, errs ...*gqlerror.Error) {
	b, err := json.Marshal(errs)
	if err != nil {
		b = []byte(`[{"message":"internal error"}]`)
	}
	c.enqueue(c.d.errors(id, b), "")
}

// fail ends subscription id with errs. On a websocket the error message ends
// it; an event stream completes after it.
func (c *conn) fail(id string, errs ...*gqlerror.Error) {
	c.sendErrors(id, errs...)
	if c.single {
		c.complete(id)
	}
}

// complete tells the client subscription id is over; an event stream then
// ends once its queue is written.
func (c *conn) complete(id string) {
	c.enqueue(c.d.frame(c.d.complete, id, nil), "")
}

// refuse closes the connection after a failed admission: 4403 for a
// refusal, 4500 (reconnect) when it could not be decided.
func (c *conn) refuse(err error) {
	if errors.Is(err, ErrUnavailable) {
		c.close(CloseInternal, "admission unavailable: reconnect")
		return
	}
	c.close(CloseForbidden, "forbidden: "+err.Error())
}

// readmit re-runs admission with the connection's first credential: after a
// policy change, the connection either goes (4403) or carries on with the new
// permissions, restarting its live subscriptions whose permissions changed.
// With since (the Seq of the change; 0: unknown) a restarted subscription
// loses nothing: its old execution delivers every event before the change,
// and the new one replays those after it (running on its own, as a resumed
// subscription does).
func (c *conn) readmit(since uint64) {
	c.mu.Lock()
	if !c.admitted || c.closed {
		c.mu.Unlock()
		return
	}
	credential := c.credential
	c.mu.Unlock()
	ctx, _, err := c.g.cfg.Admit(c.base, credential)
	if err != nil {
		c.refuse(err)
		return
	}
	ctx = context.WithValue(ctx, gatewayKey{}, c.g)
	c.mu.Lock()
	c.ctx = ctx
	var live []*sub
	for _, s := range c.subs {
		if s.group != nil {
			live = append(live, s)
		}
	}
	c.mu.Unlock()
	fp := c.g.cfg.Fingerprint(ctx)
	for _, s := range live {
		c.mu.Lock()
		grp := s.group
		same, moving := s.fingerprint == fp, s.moving
		if grp != nil && !same && !moving {
			s.moving = true
		}
		c.mu.Unlock()
		if grp == nil || same || moving {
			// Stopped meanwhile, being moved by another re-admission, or it
			// may see what it saw: its execution, shared by whoever else
			// may, goes on without a gap.
			continue
		}
		if !c.handOver(s, grp, since) {
			continue // stopped, or the connection closed, meanwhile
		}
		sctx := ctx
		if since > 0 {
			sctx = context.WithValue(ctx, resumeKey{}, since)
		}
		grp.leave(s)
		c.start(sctx, s)
	}
}

// handOver takes s from its execution grp for a restart, once grp has
// delivered what came before the revocation at since (when since is set):
// until then what grp sends still reaches the client, and the restart
// resumes after since, so nothing falls in between. False when s was
// stopped or the connection closed meanwhile: there is nothing to restart.
func (c *conn) handOver(s *sub, grp *group, since uint64) bool {
	if since > 0 {
		grp.waitReach(since)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s.moving = false
	if c.closed || s.group != grp || c.subs[s.id] != s {
		return false
	}
	s.group = nil
	return true
}

// enqueue adds a message to the connection's queue. A state-like payload
// replaces a pending one of the same subscription. A full queue means the
// client is too far behind: it is closed with 1013 and may resume.
func (c *conn) enqueue(data []byte, coalesce string) {
	c.push(data, coalesce, nil, nil)
}

// deliver enqueues what execution grp sends to its member s, unless s has
// left grp meanwhile: a re-admission moves s to a new execution (with the
// new permissions), and an event the old one had in hand must neither
// follow the new one's answer nor, coalescing, replace it.
func (c *conn) deliver(grp *group, s *sub, data []byte, coalesce string) {
	c.push(data, coalesce, grp, s)
}

func (c *conn) push(data []byte, coalesce string, from *group, s *sub) {
	c.mu.Lock()
	if c.closed || (from != nil && s.group != from) {
		c.mu.Unlock()
		return
	}
	if coalesce != "" {
		for i := range c.queue {
			if c.queue[i].coalesce == coalesce {
				c.queue[i].data = data
				c.mu.Unlock()
				return
			}
		}
	}
	if len(c.queue) >= c.g.cfg.QueueSize {
		c.mu.Unlock()
		c.g.stats.tooSlow.Add(1)
		c.close(CloseTooSlow, "too slow: reconnect and resume from the last sequence you saw")
		return
	}
	c.queue = append(c.queue, outbound{data: data, coalesce: coalesce})
	schedule := !c.scheduled
	c.scheduled = true
	c.mu.Unlock()
	if schedule {
		c.g.schedule(c)
	}
}

// flush writes the queue out, on a writer of the pool.
func (c *conn) flush() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.closed {
			c.scheduled = false
			c.queue = nil
			// An event stream whose subscription is over has said so: end it.
			over := c.single && c.admitted && len(c.subs) == 0 && !c.closed
			c.mu.Unlock()
			if over {
				c.close(closeNormal, "")
			}
			return
		}
		batch := c.queue
		c.queue = make([]outbound, 0, 4)
		c.mu.Unlock()
		for _, m := range batch {
			c.writingSince.Store(time.Now().UnixNano())
			err := c.wire.write(m.data)
			c.writingSince.Store(0)
			if err != nil {
				c.close(CloseTooSlow, "write failed or timed out")
				return
			}
			c.g.stats.sent.Add(1)
		}
	}
}

// close ends the connection once, with code.
func (c *conn) close(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	admitted := c.admitted
	subs := c.subs
	c.subs = map[string]*sub{}
	c.queue = nil
	if c.initTimer != nil {
		c.initTimer.Stop()
	}
	if c.expiry != nil {
		c.expiry.Stop()
	}
	groups := make(map[*sub]*group, len(subs))
	for _, s := range subs {
		if s.group != nil {
			groups[s], s.group = s.group, nil
		}
	}
	c.mu.Unlock()

	for _, s := range subs {
		if s.cancel != nil {
			s.cancel()
		}
		if grp := groups[s]; grp != nil {
			grp.leave(s)
		}
	}
	if admitted {
		c.g.unregister(c)
		if c.g.cfg.OnDisconnect != nil {
			c.g.cfg.OnDisconnect(c.who)
		}
	}
	if len(reason) > 120 {
		reason = reason[:120] // a close reason fits in a control frame
	}
	go func() {
		c.wire.end(code, reason) // the handshake waits for the peer: not on the caller's time
		c.cancel()
	}()
}

func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}
