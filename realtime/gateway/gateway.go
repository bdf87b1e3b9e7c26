package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// Identity is who a connection belongs to, for revocation, caps and
// presence.
type Identity struct {
	TenantID  string
	AgentID   string // empty for API keys
	SessionID string // the sign-in the credential belongs to; empty for API keys
	APIKeyID  string // the API key, for API keys
	// KeyCreatorID is the agent who made the API key: disabling them closes
	// the key's connections too.
	KeyCreatorID string
	// ExpiresAt is when the credential stops being valid (zero: never); the
	// connection is closed with 4403 then.
	ExpiresAt time.Time
}

// ErrUnavailable is wrapped by an Admit error that is no refusal.
var ErrUnavailable = errors.New("admission unavailable")

// Config sets up a Gateway. Admit is required; the rest have defaults.
type Config struct {
	// Credential picks a connection's credential from its connection_init
	// payload, or from the upgrade request's Authorization header. Only the
	// credential is kept, for re-admission.
	Credential func(authorizationHeader string, initPayload map[string]any) string
	// Admit authenticates a credential and returns the context operations run
	// in. An error closes the connection with 4403, unless it wraps
	// ErrUnavailable (admission could not be decided: the database failed),
	// which closes it with 4500 so that the client reconnects rather than
	// signing in again.
	Admit func(ctx context.Context, credential string) (context.Context, Identity, error)
	// Fingerprint names the permissions of an admitted context: subscriptions
	// share an execution only when their fingerprints are equal.
	Fingerprint func(ctx context.Context) string
	// Coalesce reports whether a root subscription field is state-like: a
	// connection's queue keeps only its newest pending payload.
	Coalesce func(field string) bool
	// Personal reports whether a root subscription field acts for its
	// subscriber (conversationViewers counts them as looking): such a
	// subscription gets an execution of its own, never shared.
	Personal func(field string) bool
	// OnConnect and OnDisconnect are told when an admitted connection opens
	// and closes (presence).
	OnConnect, OnDisconnect func(Identity)

	OriginPatterns         []string      // browser origins allowed besides the server's own host
	InitTimeout            time.Duration // to send connection_init (default 10s)
	KeepAlive              time.Duration // server ping interval (default 25s)
	WriteTimeout           time.Duration // per write (default 10s)
	ReadLimit              int64         // largest client message (default 64 KiB)
	QueueSize              int           // pending messages per connection (default 256)
	MaxSubscriptions       int           // per connection (default 100)
	MaxConnectionsPerAgent int           // default 20, websockets and event streams together
	MaxConnectionsPerKey   int           // per API key, default 20
	Writers                int           // shared writer goroutines (default 32)
}

func (c *Config) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	set(&c.InitTimeout, 10*time.Second)
	set(&c.KeepAlive, 25*time.Second)
	set(&c.WriteTimeout, 10*time.Second)
	if c.ReadLimit == 0 {
		c.ReadLimit = 64 << 10
	}
	if c.QueueSize == 0 {
		c.QueueSize = 256
	}
	if c.MaxSubscriptions == 0 {
		c.MaxSubscriptions = 100
	}
	if c.MaxConnectionsPerAgent == 0 {
		c.MaxConnectionsPerAgent = 20
	}
	if c.MaxConnectionsPerKey == 0 {
		c.MaxConnectionsPerKey = 20
	}
	if c.Writers == 0 {
		c.Writers = 32
	}
	if c.Fingerprint == nil {
		c.Fingerprint = func(context.Context) string { return "" }
	}
	if c.Coalesce == nil {
		c.Coalesce = func(string) bool { return false }
	}
	if c.Personal == nil {
		c.Personal = func(string) bool { return false }
	}
	if c.Credential == nil {
		c.Credential = func(header string, payload map[string]any) string {
			if s, ok := payload["Authorization"].(string); ok {
				return s
			}
			return header
		}
	}
}

// Gateway is the websocket transport and the registry of its connections.
type Gateway struct {
	cfg    Config
	writes chan *conn

	mu       sync.Mutex
	conns    map[*conn]struct{}
	byAgent  map[string]map[*conn]struct{}
	bySess   map[string]map[*conn]struct{}
	byTenant map[string]map[*conn]struct{}
	byKey    map[string]map[*conn]struct{}
	// byCreator holds API keys' connections under the agent who made the key.
	byCreator map[string]map[*conn]struct{}
	groups    map[string]*group
	applied   applied // revocations applied, per tenant (revocation.go)
	draining  bool

	stats struct {
		sent, tooSlow atomic.Int64
	}
	stop     chan struct{}
	stopOnce sync.Once
}

// New starts a Gateway's writers and keepalive.
func New(cfg Config) *Gateway {
	cfg.defaults()
	g := &Gateway{
		cfg:       cfg,
		writes:    make(chan *conn, 1<<16),
		conns:     map[*conn]struct{}{},
		byAgent:   map[string]map[*conn]struct{}{},
		bySess:    map[string]map[*conn]struct{}{},
		byTenant:  map[string]map[*conn]struct{}{},
		byKey:     map[string]map[*conn]struct{}{},
		byCreator: map[string]map[*conn]struct{}{},
		groups:    map[string]*group{},
		stop:      make(chan struct{}),
		applied:   applied{upTo: map[string]uint64{}, changed: make(chan struct{})},
	}
	for range cfg.Writers {
		go g.writer()
	}
	go g.keepAlive()
	go g.watchdog()
	return g
}

// Supports reports whether r asks for a websocket.
func (g *Gateway) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// Do serves one websocket connection; gqlgen calls it with its executor.
func (g *Gateway) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	g.serve(w, r, exec)
}

var _ graphql.Transport = (*Gateway)(nil)

// CloseAgent closes every connection of an agent with 4403, and those of
// the API keys they made: they were disabled, their roles changed or their
// session was revoked.
func (g *Gateway) CloseAgent(agentID, reason string) {
	for _, c := range append(g.connsOf(g.byAgent, agentID), g.connsOf(g.byCreator, agentID)...) {
		c.close(CloseForbidden, reason)
	}
}

// CloseAPIKey closes, with 4403, every connection of a revoked API key.
func (g *Gateway) CloseAPIKey(keyID, reason string) {
	for _, c := range g.connsOf(g.byKey, keyID) {
		c.close(CloseForbidden, reason)
	}
}

// CloseSession closes, with 4403, the connections opened with a session that
// has ended.
func (g *Gateway) CloseSession(sessionID, reason string) {
	for _, c := range g.connsOf(g.bySess, sessionID) {
		c.close(CloseForbidden, reason)
	}
}

// Readmit checks every connection of a tenant again after its policy changed:
// a connection whose credential no longer stands is closed with 4403; the
// others run their next operations, and restart their live subscriptions,
// with the new permissions.
func (g *Gateway) Readmit(tenantID string) {
	for _, c := range g.connsOf(g.byTenant, tenantID) {
		c.readmit(0)
	}
}

// ReadmitAgent checks the connections of one agent again (see Readmit):
// what they may see changed (their numbers), not their tenant's policy. since
// is the Seq of the change: a subscription it restarts resumes after it,
// having had every event before it.
func (g *Gateway) ReadmitAgent(agentID string, since uint64) {
	for _, c := range g.connsOf(g.byAgent, agentID) {
		c.readmit(since)
	}
}

// all returns the open connections.
func (g *Gateway) all() []*conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*conn, 0, len(g.conns))
	for c := range g.conns {
		out = append(out, c)
	}
	return out
}

func (g *Gateway) connsOf(index map[string]map[*conn]struct{}, key string) []*conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*conn, 0, len(index[key]))
	for c := range index[key] {
		out = append(out, c)
	}
	return out
}

// ReadmitAll re-admits every connection (see Readmit).
func (g *Gateway) ReadmitAll() {
	for _, c := range g.all() {
		c.readmit(0)
	}
}

// Shutdown closes every connection with 1001 and waits for them to go, or for
// ctx to end. Calling it again is harmless.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.draining = true
	g.mu.Unlock()
	for _, c := range g.all() {
		c.close(CloseGoingAway, "server shutting down")
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		g.mu.Lock()
		n := len(g.conns)
		g.mu.Unlock()
		if n == 0 {
			g.stopOnce.Do(func() { close(g.stop) })
			return nil
		}
		select {
		case <-ctx.Done():
			g.stopOnce.Do(func() { close(g.stop) })
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Stats are the gateway's counters, for metrics.
type Stats struct {
	Connections, Subscriptions, Executions int
	// Live: the executions whose resolver has run, so their streams are
	// open (an event published from then on reaches them).
	Live          int
	Sent, TooSlow int64
}

// Stats returns the current counters.
func (g *Gateway) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := Stats{Connections: len(g.conns), Executions: len(g.groups), Sent: g.stats.sent.Load(), TooSlow: g.stats.tooSlow.Load()}
	for _, grp := range g.groups {
		if grp.live.Load() {
			s.Live++
		}
	}
	for c := range g.conns {
		c.mu.Lock()
		s.Subscriptions += len(c.subs)
		c.mu.Unlock()
	}
	return s
}

// register adds an admitted connection to the indexes that revocation,
// re-admission and the caps read; it returns why it refused, or "".
func (g *Gateway) register(c *conn) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.draining:
		return "the server is draining"
	case c.who.AgentID != "" && len(g.byAgent[c.who.AgentID]) >= g.cfg.MaxConnectionsPerAgent:
		return "too many connections for this agent"
	case c.who.APIKeyID != "" && len(g.byKey[c.who.APIKeyID]) >= g.cfg.MaxConnectionsPerKey:
		return "too many connections for this API key"
	}
	g.conns[c] = struct{}{}
	add := func(index map[string]map[*conn]struct{}, key string) {
		if key == "" {
			return
		}
		if index[key] == nil {
			index[key] = map[*conn]struct{}{}
		}
		index[key][c] = struct{}{}
	}
	add(g.byAgent, c.who.AgentID)
	add(g.bySess, c.who.SessionID)
	add(g.byTenant, c.who.TenantID)
	add(g.byKey, c.who.APIKeyID)
	add(g.byCreator, c.who.KeyCreatorID)
	return ""
}

func (g *Gateway) unregister(c *conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.conns, c)
	del := func(index map[string]map[*conn]struct{}, key string) {
		delete(index[key], c)
		if len(index[key]) == 0 {
			delete(index, key)
		}
	}
	del(g.byAgent, c.who.AgentID)
	del(g.bySess, c.who.SessionID)
	del(g.byTenant, c.who.TenantID)
	del(g.byKey, c.who.APIKeyID)
	del(g.byCreator, c.who.KeyCreatorID)
}

// writer drains connections' queues: one pool for all, so an idle connection
// costs no writer goroutine.
func (g *Gateway) writer() {
	for {
		select {
		case c := <-g.writes:
			c.flush()
		case <-g.stop:
			return
		}
	}
}

func (g *Gateway) schedule(c *conn) {
	select {
	case g.writes <- c:
	default:
		go func() { g.writes <- c }() // the pool is saturated: wait without blocking the publisher
	}
}

// watchdog closes, without a closing handshake, every connection whose write
// has outlived WriteTimeout: a stalled client does not hold a writer forever.
func (g *Gateway) watchdog() {
	t := time.NewTicker(min(time.Second, g.cfg.WriteTimeout/2))
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		deadline := time.Now().Add(-g.cfg.WriteTimeout).UnixNano()
		for _, c := range g.all() {
			if since := c.writingSince.Load(); since != 0 && since < deadline {
				g.stats.tooSlow.Add(1)
				c.wire.abort() // the stuck write fails; flush closes the rest
			}
		}
	}
}

// keepAlive pings every admitted connection; a dead one fails its write.
func (g *Gateway) keepAlive() {
	t := time.NewTicker(g.cfg.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		for _, c := range g.all() {
			c.enqueue(c.d.frame(c.d.ping, "", nil), "")
		}
	}
}
