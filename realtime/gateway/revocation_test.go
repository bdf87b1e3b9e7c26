package gateway_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestRevocationOnEveryTransportAndInstance: two instances (each its own
// Postgres bus, authorizer and gateway) over one database. A supervisor (or
// an API key) watches number events on both, over a websocket and an event
// stream each; then access is taken away through instance A. Every stream,
// on both instances, ends within a second, and none shows the event
// published right after the change.
func TestRevocationOnEveryTransportAndInstance(t *testing.T) {
	t.Parallel()
	base := os.Getenv(storetest.EnvDatabaseURL)
	if base == "" {
		t.Skip(storetest.EnvDatabaseURL + " not set: the two-instance revocation test needs Postgres")
	}
	db := storetest.Open(t, dialect.Postgres)
	var schema string
	require.NoError(t, db.SQL.QueryRowContext(t.Context(), `SELECT current_schema()`).Scan(&schema))
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	channel := "rv_" + randomHex(6)
	type instance struct {
		s   *graphtest.Server
		url string // http://…/graphql
	}
	start := func() instance {
		bus, err := realtime.NewPostgres(t.Context(), db.SQL, u.String(), realtime.WithPostgresChannel(channel))
		require.NoError(t, err)
		t.Cleanup(func() { _ = bus.Close() })
		s := graphtest.New(t, db, graph.Config{}, graphtest.WithBus(bus))
		srv := httptest.NewServer(s.Handler)
		t.Cleanup(srv.Close)
		return instance{s: s, url: srv.URL + "/graphql"}
	}
	a, b := start(), start()

	const query = `subscription { numberStatusChanged { seq kind number { id status } } }`
	type world struct {
		tenantID, numberID, owner, sam, samID, roleSupervisor, roleAgent string
	}
	setupTenant := func(t *testing.T, slug string) world {
		w := world{owner: a.s.Inbox(t, slug, 1)}
		var out struct {
			Viewer  struct{ Tenant struct{ ID string } }
			Numbers struct {
				Edges []struct{ Node struct{ ID string } }
			}
			Roles []struct{ ID, Name string }
		}
		r := a.s.Do(t, w.owner, `{ viewer { tenant { id } } numbers(first: 1) { edges { node { id } } } roles { id name } }`, nil)
		r.RequireOK(t)
		r.Decode(t, &out)
		w.tenantID, w.numberID = out.Viewer.Tenant.ID, out.Numbers.Edges[0].Node.ID
		for _, role := range out.Roles {
			switch role.Name {
			case "supervisor":
				w.roleSupervisor = role.ID
			case "agent":
				w.roleAgent = role.ID
			}
		}
		r = a.s.Do(t, w.owner, `mutation($e: String!, $p: String!) { createAgent(input: {name: "Sam", email: $e, password: $p, roles: ["supervisor"]}) { id } }`,
			map[string]any{"e": "sam@" + slug + ".test", "p": graphtest.Password})
		r.RequireOK(t)
		var created struct{ CreateAgent struct{ ID string } }
		r.Decode(t, &created)
		w.samID = created.CreateAgent.ID
		w.sam = a.s.Login(t, "sam@"+slug+".test", graphtest.Password)
		return w
	}
	do := func(t *testing.T, token, query string, vars map[string]any) {
		t.Helper()
		a.s.Do(t, token, query, vars).RequireOK(t)
	}

	tests := []struct {
		name string
		// change takes access away from credential; it runs on instance A.
		change func(t *testing.T, w world) (credential string, change func())
		// refused: the subscription is refused on re-admission (FORBIDDEN)
		// rather than its connection closed with 4403.
		refused bool
	}{
		{"logout", func(t *testing.T, w world) (string, func()) {
			return w.sam, func() { do(t, w.sam, `mutation { logout }`, nil) }
		}, false},
		{"disable", func(t *testing.T, w world) (string, func()) {
			return w.sam, func() {
				do(t, w.owner, `mutation($a: ID!) { disableAgent(id: $a) { id } }`, map[string]any{"a": w.samID})
			}
		}, false},
		{"offboard", func(t *testing.T, w world) (string, func()) {
			return w.sam, func() {
				do(t, w.owner, `mutation($a: ID!) { offboardAgent(id: $a, reassignTo: {policy: true}) { agent { id } } }`, map[string]any{"a": w.samID})
			}
		}, false},
		{"role change", func(t *testing.T, w world) (string, func()) {
			return w.sam, func() {
				do(t, w.owner, `mutation($a: ID!, $r: [ID!]!) { assignRoles(agentID: $a, roleIDs: $r) { id } }`,
					map[string]any{"a": w.samID, "r": []string{w.roleAgent}})
			}
		}, false},
		{"field rule change", func(t *testing.T, w world) (string, func()) {
			return w.sam, func() {
				do(t, w.owner, `mutation($r: ID!) { setFieldRule(roleID: $r, coordinate: "Subscription.numberStatusChanged", effect: DENY) { id } }`,
					map[string]any{"r": w.roleSupervisor})
			}
		}, true},
		{"API key revocation", func(t *testing.T, w world) (string, func()) {
			r := a.s.Do(t, w.owner, `mutation { createAPIKey(input: {name: "crm", role: "supervisor"}) { secret apiKey { id } } }`, nil)
			r.RequireOK(t)
			var out struct {
				CreateAPIKey struct {
					Secret string
					APIKey struct{ ID string }
				}
			}
			r.Decode(t, &out)
			return out.CreateAPIKey.Secret, func() {
				do(t, w.owner, `mutation($k: ID!) { revokeAPIKey(id: $k) { id } }`, map[string]any{"k": out.CreateAPIKey.APIKey.ID})
			}
		}, false},
		{"API key creator disabled", func(t *testing.T, w world) (string, func()) {
			// An admin makes a key; disabling the admin ends the key's
			// streams too (a key acts with at most its creator's rights).
			r := a.s.Do(t, w.owner, `mutation($e: String!, $p: String!) { createAgent(input: {name: "Kim", email: $e, password: $p, roles: ["admin"]}) { id } }`,
				map[string]any{"e": "kim@keys.test", "p": graphtest.Password})
			r.RequireOK(t)
			var created struct{ CreateAgent struct{ ID string } }
			r.Decode(t, &created)
			kim := a.s.Login(t, "kim@keys.test", graphtest.Password)
			r = a.s.Do(t, kim, `mutation { createAPIKey(input: {name: "crm", role: "supervisor"}) { secret } }`, nil)
			r.RequireOK(t)
			var out struct{ CreateAPIKey struct{ Secret string } }
			r.Decode(t, &out)
			return out.CreateAPIKey.Secret, func() {
				do(t, w.owner, `mutation($a: ID!) { disableAgent(id: $a) { id } }`, map[string]any{"a": created.CreateAgent.ID})
			}
		}, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := setupTenant(t, fmt.Sprintf("rv%d", i))
			credential, change := tt.change(t, w)
			publish := func() uint64 {
				e, err := a.s.Bus.Publish(t.Context(), realtime.NumberEvent(w.tenantID, w.numberID))
				require.NoError(t, err)
				return e.Seq
			}
			var streams []liveStream
			for _, in := range []instance{a, b} {
				streams = append(streams,
					newWSStream(t, "ws"+strings.TrimPrefix(in.url, "http"), credential, query),
					newSSEStream(t, in.url, credential, query))
			}
			// Every stream is live: each has seen an event.
			waiting := streams
			for deadline := time.Now().Add(10 * time.Second); len(waiting) > 0; {
				require.True(t, time.Now().Before(deadline), "%d streams never went live", len(waiting))
				publish()
				var still []liveStream
				for _, s := range waiting {
					if !s.sawEvent(300 * time.Millisecond) {
						still = append(still, s)
					}
				}
				waiting = still
			}

			change()
			changed := time.Now()
			after := publish()
			for i, s := range streams {
				end := s.end(t, 5*time.Second, after)
				where := fmt.Sprintf("stream %d (%s on instance %c)", i, s.kind(), "AB"[i/2])
				require.Zero(t, end.events, "%s showed an event after the change", where)
				require.Less(t, end.at.Sub(changed), time.Second, "%s ended %v after the change", where, end.at.Sub(changed))
				if tt.refused {
					require.Equal(t, "FORBIDDEN", end.code, "%s: %+v", where, end)
				} else {
					require.Equal(t, int(gateway.CloseForbidden), end.closeCode, "%s: %+v", where, end)
				}
			}
		})
	}
}

// liveStream is a subscription over either transport, as the revocation
// test watches it.
type liveStream interface {
	kind() string
	// sawEvent drains what arrived within d and reports whether it held an event.
	sawEvent(d time.Duration) bool
	// end reads until the stream ends and says how; events from seq on
	// count (earlier ones are the liveness probe's).
	end(t *testing.T, d time.Duration, seq uint64) streamEnd
}

type streamEnd struct {
	at        time.Time
	events    int    // data events from the seq asked for, received before the end
	code      string // extensions.code of the last error
	closeCode int    // websocket close code, or the one an event stream reports
}

// wsStream reads its socket in the background: a read that times out
// would close a coder/websocket connection.
type wsStream struct{ frames chan wsFrame }

type wsFrame struct {
	data []byte
	err  error // the connection ended; the last frame
}

func newWSStream(t *testing.T, url, credential, query string) liveStream {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{gateway.ProtocolTransportWS}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ws.CloseNow() })
	c := &client{t: t, ws: ws}
	c.init(credential)
	c.send(subscribeMsg("s", query))
	s := wsStream{frames: make(chan wsFrame, 256)}
	go func() {
		for {
			_, data, err := ws.Read(context.Background())
			s.frames <- wsFrame{data, err}
			if err != nil {
				return
			}
		}
	}()
	return s
}

func (wsStream) kind() string { return "websocket" }

func (s wsStream) sawEvent(d time.Duration) bool {
	timeout := time.After(d)
	for {
		select {
		case f := <-s.frames:
			if f.err != nil {
				return false
			}
			if strings.Contains(string(f.data), `"numberStatusChanged":{`) {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

func (s wsStream) end(t *testing.T, d time.Duration, seq uint64) streamEnd {
	var e streamEnd
	timeout := time.After(d)
	for {
		var f wsFrame
		select {
		case f = <-s.frames:
		case <-timeout:
			t.Fatalf("the websocket subscription did not end within %v", d)
		}
		if f.err != nil {
			e.at, e.closeCode = time.Now(), int(websocket.CloseStatus(f.err))
			return e
		}
		var m struct {
			Type    string
			Payload json.RawMessage
		}
		require.NoError(t, json.Unmarshal(f.data, &m))
		switch m.Type {
		case "next":
			var p struct {
				Data   map[string]any
				Errors []struct{ Extensions struct{ Code string } }
			}
			require.NoError(t, json.Unmarshal(m.Payload, &p))
			if ev, _ := p.Data["numberStatusChanged"].(map[string]any); ev != nil && ev["seq"].(float64) >= float64(seq) {
				e.events++
			}
			if len(p.Errors) > 0 {
				e.code = p.Errors[0].Extensions.Code
			}
		case "error":
			var errs []struct{ Extensions struct{ Code string } }
			require.NoError(t, json.Unmarshal(m.Payload, &errs))
			e.code = errs[0].Extensions.Code
			e.at = time.Now()
			return e
		case "complete":
			e.at = time.Now()
			return e
		}
	}
}

type sseLive struct{ s *sseStream }

func newSSEStream(t *testing.T, url, credential, query string) liveStream {
	return sseLive{openSSE(t, url, credential, query)}
}

func (sseLive) kind() string { return "event stream" }

func (s sseLive) sawEvent(d time.Duration) bool {
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-s.s.events:
			if !ok {
				return false
			}
			if data, _ := ev.Data["data"].(map[string]any); data["numberStatusChanged"] != nil {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

func (s sseLive) end(t *testing.T, d time.Duration, seq uint64) streamEnd {
	var e streamEnd
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-s.s.events:
			if !ok {
				e.at = time.Now()
				return e
			}
			data, _ := ev.Data["data"].(map[string]any)
			if ev, _ := data["numberStatusChanged"].(map[string]any); ev != nil && ev["seq"].(float64) >= float64(seq) {
				e.events++
			}
			if errs, _ := ev.Data["errors"].([]any); len(errs) > 0 {
				err := errs[0].(map[string]any)
				ext, _ := err["extensions"].(map[string]any)
				e.code, _ = ext["code"].(string)
				e.closeCode = int(closeCode(err))
			}
		case <-timeout:
			t.Fatalf("the event stream did not end within %v", d)
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
