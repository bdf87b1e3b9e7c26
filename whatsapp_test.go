package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/coder/websocket"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

const (
	simNumberID = "100200300"
	simToken    = "sim-access-token"
	simSecret   = "sim app secret"
)

// waBundle is Switchboard wired to the Cloud API simulator over HTTP, both
// ways: sends go to the simulator, its signed webhooks come back.
type waBundle struct {
	sim      *sim.Simulator
	answers  *answerCounter // what the simulator answered Switchboard's sends
	s        *graphtest.Server
	db       *store.DB
	url      string // Switchboard's base URL
	owner    string // the owner's access token
	tenantID string
	numberID string
	health   *connector.Health // the periodic health read, run on demand
}

func setupWhatsApp(t *testing.T, dialectName string, throughput int) *waBundle {
	t.Helper()
	db := storetest.Open(t, dialectName)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)

	simulator, err := sim.New(sim.Config{
		WebhookURL:   srv.URL + "/webhooks/whatsapp",
		AppSecret:    simSecret,
		Numbers:      []sim.Number{{PhoneNumberID: simNumberID, Token: simToken, DisplayPhone: "33600000001", Throughput: throughput}},
		StatusDelays: sim.StatusDelays{Sent: 5 * time.Millisecond, Delivered: 5 * time.Millisecond, Read: 5 * time.Millisecond},
		PairInterval: -1,
		RetryBackoff: 50 * time.Millisecond,
		Seed:         7,
	})
	require.NoError(t, err)
	t.Cleanup(simulator.Close)
	answers := &answerCounter{next: simulator, codes: map[string]int{}}
	simSrv := httptest.NewServer(answers)
	t.Cleanup(simSrv.Close)

	s := graphtest.New(t, db, graph.Config{}, graphtest.WithApp(app.WithWorkers(true)),
		graphtest.WithConfig(func(c *app.Config) {
			c.WhatsAppAPIURL, c.WhatsAppAppSecret, c.WhatsAppVerifyToken = simSrv.URL, []byte(simSecret), "verify"
			c.SimURL = simSrv.URL // the number is linked with provider: sim
		}))
	handler = s.App.Handler()

	tenantID, owner := s.Tenant(t, "acme")
	r := s.Do(t, owner, `mutation($p: String!) { linkNumber(input: {phone: "+33600000001", displayName: "Sim", provider: sim, phoneNumberID: $p, throughput: 1000}) { id } }`,
		map[string]any{"p": simNumberID})
	r.RequireOK(t)
	var linked struct{ LinkNumber struct{ ID string } }
	r.Decode(t, &linked)
	s.Do(t, owner, `mutation($id: ID!, $t: String!) { setNumberCredentials(id: $id, accessToken: $t) { attention } }`,
		map[string]any{"id": linked.LinkNumber.ID, "t": simToken}).RequireOK(t)
	return &waBundle{health: s.App.WhatsApp.Health, sim: simulator, answers: answers, s: s, db: db, url: srv.URL, owner: owner, tenantID: tenantID, numberID: linked.LinkNumber.ID}
}

// writeIn has a customer write, and waits until the conversation exists.
func (b *waBundle) writeIn(t *testing.T, from, text string) string {
	t.Helper()
	_, err := b.sim.WriteIn(simNumberID, from, whatsapp.Message{Type: "text", Text: text, ProfileName: "Customer " + from[len(from)-4:]})
	require.NoError(t, err)
	return b.waitConversation(t, "String!", `hasContactWith: {waID: $v}`, from)
}

// waitConversation waits until exactly one conversation matches where (a
// ConversationWhereInput's fields, with $v of type vType bound to v) and
// returns its id.
func (b *waBundle) waitConversation(t *testing.T, vType, where, v string) string {
	t.Helper()
	var id string
	require.Eventually(t, func() bool {
		r := b.s.Do(t, b.owner, `query($v: `+vType+`) { conversations(where: {`+where+`}) { edges { node { id } } } }`, map[string]any{"v": v})
		var out struct {
			Conversations struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		r.Decode(t, &out)
		if len(out.Conversations.Edges) == 1 {
			id = out.Conversations.Edges[0].Node.ID
		}
		return id != ""
	}, 20*time.Second, 20*time.Millisecond)
	return id
}

// TestEndToEndThroughTheSimulator: a customer writes, it becomes a
// conversation, an agent replies through GraphQL, the reply is sent, and its
// status reaches READ, each change pushed to a subscriber. An event names
// what changed and its payload is the row as it is when the event is read, so
// under load an early event may already show a later status: the statuses a
// subscriber sees only move forward, start with the reply's creation and end
// at READ.
func TestEndToEndThroughTheSimulator(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setupWhatsApp(t, d, 80)
			ws := dialWS(t, strings.Replace(b.url, "http", "ws", 1)+"/graphql", b.owner)
			ws.send(`{"id":"c","type":"subscribe","payload":{"query":"subscription { conversationEvents { kind conversation { id contact { profileName } lastMessage { body direction } } } }"}}`)
			require.Eventually(t, func() bool { return b.s.Gateway.Stats().Live == 1 }, 15*time.Second, 10*time.Millisecond)

			conv := b.writeIn(t, "33612340001", "Bonjour, ma commande ?")
			ev := ws.next("c")
			require.Equal(t, "CREATED", ev["kind"])
			c := ev["conversation"].(map[string]any)
			require.Equal(t, conv, c["id"])
			require.Equal(t, map[string]any{"body": "Bonjour, ma commande ?", "direction": "INBOUND"}, c["lastMessage"])

			ws.send(`{"id":"m","type":"subscribe","payload":{"query":"subscription { messageEvents(conversationID: \"` + conv + `\") { kind message { id status direction } } }"}}`)
			require.Eventually(t, func() bool { return b.s.Gateway.Stats().Live == 2 }, 15*time.Second, 10*time.Millisecond)
			r := b.s.Do(t, b.owner, `mutation($c: ID!) { sendMessage(input: {conversationID: $c, text: "Elle part demain !"}) { id status } }`,
				map[string]any{"c": conv})
			r.RequireOK(t)
			require.Contains(t, string(r.Data), `"status":"QUEUED"`)

			var statuses, kinds []string
			for !contains(statuses, "READ") {
				ev := ws.next("m")
				if m := ev["message"].(map[string]any); m["direction"] == "OUTBOUND" {
					statuses = append(statuses, m["status"].(string))
					kinds = append(kinds, ev["kind"].(string))
				}
			}
			require.Equal(t, "ADDED", kinds[0], "the reply's first event is its arrival")
			order := map[string]int{"QUEUED": 0, "SENT": 1, "DELIVERED": 2, "READ": 3}
			for i := 1; i < len(statuses); i++ {
				require.LessOrEqual(t, order[statuses[i-1]], order[statuses[i]], "statuses only move forward: %v", statuses)
			}
			require.GreaterOrEqual(t, len(statuses), 2, "the status changes are pushed, not only the creation: %v", statuses)
			require.Equal(t, "READ", statuses[len(statuses)-1])
			log := b.sim.Log()
			require.Len(t, log, 1)
			require.Equal(t, "33612340001", log[0].To)
			b.verifyAuditChain(t, "auth.login", "number.link", "number.credentials")
		})
	}
}

// verifyAuditChain asks the API to verify the tenant's audit chain and
// requires it whole, holding at least the actions named.
func (b *waBundle) verifyAuditChain(t *testing.T, actions ...string) {
	t.Helper()
	r := b.s.Do(t, b.owner, `{ verifyAuditChain { ok checked reason } auditEvents(first: 100) { totalCount edges { node { action } } } }`, nil)
	r.RequireOK(t)
	var out struct {
		VerifyAuditChain struct {
			OK      bool
			Checked int
			Reason  *string
		}
		AuditEvents struct {
			TotalCount int
			Edges      []struct{ Node struct{ Action string } }
		}
	}
	r.Decode(t, &out)
	require.True(t, out.VerifyAuditChain.OK, "audit chain broken: %s", r)
	require.Equal(t, out.AuditEvents.TotalCount, out.VerifyAuditChain.Checked)
	recorded := map[string]bool{}
	for _, e := range out.AuditEvents.Edges {
		recorded[e.Node.Action] = true
	}
	for _, a := range actions {
		require.True(t, recorded[a], "no %s in the audit chain: %s", a, r)
	}
}

// TestOutageAndThrottling: while 1,000 replies are queued the provider
// answers 5xx, then throttles (130429); once it recovers every reply is
// delivered exactly once.
func TestOutageAndThrottling(t *testing.T) {
	t.Parallel()
	const replies = 1000
	b := setupWhatsApp(t, dialect.SQLite, 500)
	convs := make([]string, replies)
	for i := range convs {
		_, err := b.sim.WriteIn(simNumberID, fmt.Sprintf("3361%07d", i), whatsapp.Message{Type: "text", Text: "hello"})
		require.NoError(t, err)
	}
	ctx := viewer.System(t.Context(), b.tenantID)
	require.Eventually(t, func() bool {
		n, err := b.db.Client.Conversation.Query().Count(ctx)
		return err == nil && n == replies
	}, 60*time.Second, 50*time.Millisecond)
	ids, err := b.db.Client.Conversation.Query().IDs(ctx)
	require.NoError(t, err)

	// Down (5xx) for a minute while the replies are queued, then throttling:
	// a few messages a second, far below what Switchboard would send.
	require.NoError(t, b.sim.StartOutage(time.Minute, http.StatusServiceUnavailable))
	for i, id := range ids {
		r := b.s.Do(t, b.owner, `mutation($c: ID!, $t: String!) { sendMessage(input: {conversationID: $c, text: $t}) { id } }`,
			map[string]any{"c": id, "t": fmt.Sprintf("reply %d", i)})
		r.RequireOK(t)
	}
	require.Eventually(t, func() bool { return b.answers.count("503") > 0 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, b.sim.SetThroughput(simNumberID, 5)) // holds once the outage ends
	require.Eventually(t, func() bool { return b.answers.count("130429") > 0 }, 2*time.Minute, 10*time.Millisecond)
	time.Sleep(time.Second)
	require.NoError(t, b.sim.SetThroughput(simNumberID, 500))
	require.Eventually(t, func() bool {
		n, err := b.db.Client.Message.Query().Where(message.DirectionEQ(message.DirectionOUTBOUND), message.StatusEQ(message.StatusQUEUED)).Count(ctx)
		return err == nil && n == 0
	}, 3*time.Minute, 100*time.Millisecond)

	failed, err := b.db.Client.Message.Query().Where(message.StatusEQ(message.StatusFAILED)).Count(ctx)
	require.NoError(t, err)
	require.Zero(t, failed)
	perRecipient := map[string]int{}
	for _, s := range b.sim.Log() {
		perRecipient[s.To]++
	}
	require.Len(t, perRecipient, replies, "every reply reached the provider")
	for to, n := range perRecipient {
		require.Equal(t, 1, n, "%s got %d copies", to, n)
	}
	t.Logf("the provider answered 503 %d times, 130429 %d times, and accepted %d",
		b.answers.count("503"), b.answers.count("130429"), b.answers.count("200"))
	require.Positive(t, b.answers.count("503"), "the outage happened")
	require.Positive(t, b.answers.count("130429"), "the throttling happened")
	require.Equal(t, replies, b.answers.count("200"))
}

// TestDuplicatedAndReorderedWebhooks: Meta posts every webhook twice and a
// message's statuses newest first; no message is duplicated and statuses end
// right.
func TestDuplicatedAndReorderedWebhooks(t *testing.T) {
	t.Parallel()
	b := setupWhatsApp(t, dialect.SQLite, 80)
	require.NoError(t, b.sim.SetFaults(sim.Faults{DuplicateRate: 1, ReorderRate: 1}))
	conv := b.writeIn(t, "33612340009", "hi")
	for i := range 10 {
		b.s.Do(t, b.owner, `mutation($c: ID!, $t: String!) { sendMessage(input: {conversationID: $c, text: $t}) { id } }`,
			map[string]any{"c": conv, "t": fmt.Sprintf("answer %d", i)}).RequireOK(t)
	}
	ctx := viewer.System(t.Context(), b.tenantID)
	require.Eventually(t, func() bool {
		n, err := b.db.Client.Message.Query().Where(message.DirectionEQ(message.DirectionOUTBOUND), message.StatusEQ(message.StatusREAD)).Count(ctx)
		return err == nil && n == 10
	}, 30*time.Second, 20*time.Millisecond)
	in, err := b.db.Client.Message.Query().Where(message.DirectionEQ(message.DirectionINBOUND)).Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, in, "the customer's message, delivered twice, is stored once")
	require.Len(t, b.sim.Log(), 10)
	// Statuses go newest first: READ is stored while the older ones are still
	// on their way, so wait for the simulator to have posted them all.
	require.Eventually(t, func() bool {
		dup := 0
		for _, s := range b.sim.Log() {
			if len(s.Statuses) < 3 {
				return false
			}
			dup += len(s.Statuses) - 3
		}
		return dup > 0
	}, 30*time.Second, 20*time.Millisecond, "the simulator posted every status, and duplicates")
	// The older statuses, arriving after READ, moved nothing back (ingest is
	// asynchronous: give it the time it takes).
	time.Sleep(500 * time.Millisecond)
	read, err := b.db.Client.Message.Query().Where(message.DirectionEQ(message.DirectionOUTBOUND), message.StatusEQ(message.StatusREAD)).Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 10, read, "statuses only move forward")
}

// answerCounter counts the simulator's answers to sends: "200", "503",
// "130429", …
type answerCounter struct {
	next  http.Handler
	mu    sync.Mutex
	codes map[string]int
}

func (a *answerCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") {
		a.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	a.next.ServeHTTP(rec, r)
	key := strconv.Itoa(rec.Code)
	var e struct {
		Error struct{ Code int } `json:"error"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &e) == nil && e.Error.Code == whatsapp.CodeThroughput {
		key = strconv.Itoa(e.Error.Code)
	}
	a.mu.Lock()
	a.codes[key]++
	a.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (a *answerCounter) count(key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.codes[key]
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

type wsConn struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialWS(t *testing.T, url, token string) *wsConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{gateway.ProtocolTransportWS}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ws.CloseNow() })
	c := &wsConn{t: t, ws: ws}
	c.send(`{"type":"connection_init","payload":{"Authorization":"Bearer ` + token + `"}}`)
	require.Equal(t, "connection_ack", c.read()["type"])
	return c
}

func (c *wsConn) send(msg string) {
	require.NoError(c.t, c.ws.Write(c.t.Context(), websocket.MessageText, []byte(msg)))
}

func (c *wsConn) read() map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 20*time.Second)
	defer cancel()
	_, data, err := c.ws.Read(ctx)
	require.NoError(c.t, err)
	var m map[string]any
	require.NoError(c.t, json.Unmarshal(data, &m))
	return m
}

// next returns the data of the next event of subscription id.
func (c *wsConn) next(id string) map[string]any {
	c.t.Helper()
	for {
		m := c.read()
		if m["id"] != id || m["type"] != "next" {
			continue
		}
		data := m["payload"].(map[string]any)["data"].(map[string]any)
		for _, v := range data {
			return v.(map[string]any)
		}
	}
}

// TestNumberHealth: the periodic health read takes a number whose provider
// stops answering DISCONNECTED and back CONNECTED, and an expired token flags
// the number while its messages stay queued.
func TestNumberHealth(t *testing.T) {
	t.Parallel()
	b := setupWhatsApp(t, dialect.SQLite, 80)
	ctx := viewer.System(t.Context(), b.tenantID)
	status := func() (string, string) {
		n, err := b.db.Client.Number.Get(ctx, b.numberID)
		require.NoError(t, err)
		return string(n.Status), n.Attention
	}
	read := func() {
		require.NoError(t, b.health.Work(t.Context(), &river.Job[connector.HealthArgs]{}))
	}
	read()
	st, _ := status()
	require.Equal(t, "CONNECTED", st, "linked numbers start CONNECTING; the first read connects them")

	require.NoError(t, b.sim.StartOutage(time.Minute, http.StatusServiceUnavailable))
	read()
	st, _ = status()
	require.Equal(t, "DISCONNECTED", st)
	b.sim.EndOutage()
	read()
	st, _ = status()
	require.Equal(t, "CONNECTED", st)

	// A token the provider no longer accepts (190): setNumberCredentials
	// refuses one, so it is the stored token that went stale.
	sealed, err := b.s.App.Box.Seal(credential.Credentials{AccessToken: "revoked-token"}, b.numberID)
	require.NoError(t, err)
	require.NoError(t, b.db.Client.Number.UpdateOneID(b.numberID).SetCredentials(sealed).Exec(ctx))
	conv := b.writeIn(t, "33612340077", "hi")
	r := b.s.Do(t, b.owner, `mutation($c: ID!) { sendMessage(input: {conversationID: $c, text: "hello"}) { id } }`, map[string]any{"c": conv})
	r.RequireOK(t)
	require.Eventually(t, func() bool { _, a := status(); return a == "TOKEN_EXPIRED" }, 20*time.Second, 20*time.Millisecond)
	queued, err := b.db.Client.Message.Query().Where(message.DirectionEQ(message.DirectionOUTBOUND), message.StatusEQ(message.StatusQUEUED)).Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, queued, "the message waits for a new token")

	// A new token clears the flag, and the message goes.
	b.s.Do(t, b.owner, `mutation($id: ID!, $t: String!) { setNumberCredentials(id: $id, accessToken: $t) { attention } }`,
		map[string]any{"id": b.numberID, "t": simToken}).RequireOK(t)
	_, attention := status()
	require.Empty(t, attention)
}

// TestSendEveryKind sends each kind of message through the outbox to the
// simulator, and shows that outside the 24-hour window only a template is
// accepted, refused up front with a clear code.
func TestSendEveryKind(t *testing.T) {
	t.Parallel()
	b := setupWhatsApp(t, dialect.SQLite, 80)
	conv := b.writeIn(t, "33612340055", "hello")
	ctx := viewer.System(t.Context(), b.tenantID)
	in, err := b.db.Client.Message.Query().Where(message.DirectionEQ(message.DirectionINBOUND)).Only(ctx)
	require.NoError(t, err)
	send := func(input string) graphtest.Response {
		return b.s.Do(t, b.owner, `mutation { sendMessage(input: {conversationID: "`+conv+`", `+input+`}) { id kind status } }`, nil)
	}
	for _, input := range []string{
		`template: {name: "order_update", language: "en_US", parameters: ["4417", "tomorrow"]}`,
		`media: {kind: IMAGE, link: "https://example.com/p.jpg", caption: "your parcel"}`,
		`media: {kind: DOCUMENT, id: "1234567890", filename: "invoice.pdf"}`,
		`interactive: {body: "Did it arrive?", buttons: [{id: "yes", title: "Yes"}, {id: "no", title: "No"}]}`,
		`interactive: {body: "Pick a slot", list: {button: "Slots", sections: [{title: "Today", rows: [{id: "a", title: "14:00"}]}]}}`,
		`text: "On its way", replyToID: "` + in.ID + `"`,
	} {
		send(input).RequireOK(t)
	}
	require.Eventually(t, func() bool { return len(b.sim.Log()) == 6 }, 20*time.Second, 20*time.Millisecond)
	var types []string
	replied := false
	for _, s := range b.sim.Log() {
		types = append(types, s.Type)
		replied = replied || (s.Type == "text" && s.ReplyTo == *in.ProviderMessageID)
	}
	require.ElementsMatch(t, []string{"template", "image", "document", "interactive", "interactive", "text"}, types)
	require.True(t, replied, "the reply carries the customer's message id as context")

	// Bad shapes are refused before anything is queued.
	send(`text: "a", template: {name: "x", language: "en"}`).RequireCode(t, "INVALID_INPUT")
	send(`media: {kind: IMAGE, id: "1", link: "https://example.com/p.jpg"}`).RequireCode(t, "INVALID_INPUT")
	send(`interactive: {body: "x", buttons: [{id: "1", title: "1"}, {id: "2", title: "2"}, {id: "3", title: "3"}, {id: "4", title: "4"}]}`).RequireCode(t, "INVALID_INPUT")

	// A day later, only a template may go.
	require.NoError(t, b.db.Client.Conversation.UpdateOneID(conv).SetLastCustomerMessageAt(time.Now().Add(-25*time.Hour)).Exec(ctx))
	send(`text: "still there?"`).RequireCode(t, "OUTSIDE_CUSTOMER_WINDOW")
	send(`template: {name: "reengage", language: "en_US"}`).RequireOK(t)
	require.Eventually(t, func() bool { return len(b.sim.Log()) == 7 }, 20*time.Second, 20*time.Millisecond)
}

// A reply deleted while it waits to be sent (the provider is down) is never
// sent: it ends FAILED, saying why; the reply beside it goes out.
func TestDeletedBeforeSentIsNotSent(t *testing.T) {
	t.Parallel()
	b := setupWhatsApp(t, dialect.SQLite, 500)
	conv := b.writeIn(t, "33612345678", "hello")
	require.NoError(t, b.sim.StartOutage(1500*time.Millisecond, http.StatusServiceUnavailable))
	send := func(text string) string {
		r := b.s.Do(t, b.owner, `mutation($c: ID!, $t: String!) { sendMessage(input: {conversationID: $c, text: $t}) { id } }`,
			map[string]any{"c": conv, "t": text})
		r.RequireOK(t)
		var out struct{ SendMessage struct{ ID string } }
		r.Decode(t, &out)
		return out.SendMessage.ID
	}
	send("kept")
	dropped := send("taken back")
	require.Eventually(t, func() bool { return b.answers.count("503") > 0 }, 10*time.Second, 10*time.Millisecond)
	b.s.Do(t, b.owner, `mutation($m: ID!) { deleteMessage(id: $m) { id } }`, map[string]any{"m": dropped}).RequireOK(t)

	ctx := viewer.System(t.Context(), b.tenantID)
	require.Eventually(t, func() bool {
		n, err := b.db.Client.Message.Query().Where(message.DirectionEQ(message.DirectionOUTBOUND), message.StatusEQ(message.StatusQUEUED)).Count(ctx)
		return err == nil && n == 0
	}, time.Minute, 50*time.Millisecond)
	require.Len(t, b.sim.Log(), 1, "only the kept reply reached the provider")
	m, err := b.db.Client.Message.Get(ctx, dropped)
	require.NoError(t, err)
	require.Equal(t, message.StatusFAILED, m.Status)
	require.Contains(t, m.ErrorText, "deleted")
}

// A customer who writes with a username, no phone (the simulator sends only
// their business-scoped id), gets a conversation and is answered through
// that id; the statuses of the reply reach READ (defect 2, the refusal).
func TestCustomerKnownOnlyByBSUIDThroughTheSimulator(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setupWhatsApp(t, d, 80)
			const bsuid = "US.13491208655302741918"
			conv := b.writeIn(t, bsuid, "hello from a username")
			r := b.s.Do(t, b.owner, `mutation($c: ID!) { sendMessage(input: {conversationID: $c, text: "Hi there"}) { id } }`,
				map[string]any{"c": conv})
			r.RequireOK(t)
			require.Eventually(t, func() bool {
				r := b.s.Do(t, b.owner, `query($c: ID!) { node(id: $c) { ... on Conversation { lastMessage { direction status } contact { phone waID } } } }`,
					map[string]any{"c": conv})
				return strings.Contains(string(r.Data), `"lastMessage":{"direction":"OUTBOUND","status":"READ"}`) &&
					strings.Contains(string(r.Data), `"contact":{"phone":"","waID":"`+bsuid+`"}`)
			}, 20*time.Second, 20*time.Millisecond)
			log := b.sim.Log()
			require.Len(t, log, 1)
			require.Equal(t, bsuid, log[0].To)
		})
	}
}

// The simulator's statuses price the reply (a free service message inside
// the customer's window, Meta's per-message pricing): the message shows its
// pricing and the number's month counts it, at no cost.
func TestPricingThroughTheSimulator(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setupWhatsApp(t, d, 80)
			conv := b.writeIn(t, "447700900555", "do you ship to Leeds?")
			r := b.s.Do(t, b.owner, `mutation($c: ID!) { sendMessage(input: {conversationID: $c, text: "We do"}) { id } }`,
				map[string]any{"c": conv})
			r.RequireOK(t)
			var sent struct{ SendMessage struct{ ID string } }
			r.Decode(t, &sent)
			b.s.Do(t, b.owner, `mutation { setMessageRate(input: {category: "service", market: "44", price: 0.01}) { id } }`, nil).RequireOK(t)
			require.Eventually(t, func() bool {
				r := b.s.Do(t, b.owner, `query($m: ID!) { node(id: $m) { ... on Message { status pricing { category model type billable } } } }`,
					map[string]any{"m": sent.SendMessage.ID})
				return strings.Contains(string(r.Data), `"status":"READ","pricing":{"category":"service","model":"PMP","type":"free_customer_service","billable":false}`)
			}, 20*time.Second, 20*time.Millisecond)
			month := time.Now().UTC().Format("2006-01")
			r = b.s.Do(t, b.owner, `query($n: ID!, $m: String!) { node(id: $n) { ... on Number { costs(month: $m) {
				total serviceMessages billedServiceMessages categories { category messages billable cost } } } } }`,
				map[string]any{"n": b.numberID, "m": month})
			r.RequireOK(t)
			require.JSONEq(t, `{"node":{"costs":{"total":0,"serviceMessages":1,"billedServiceMessages":0,
				"categories":[{"category":"service","messages":1,"billable":0,"cost":0}]}}}`, string(r.Data))
		})
	}
}
