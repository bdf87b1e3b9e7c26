package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestTwoInstancesOnPostgres runs two server processes on one Postgres
// schema: a subscriber on B hears a change made through A, and disabling an
// agent through A closes their websocket on B with 4403 within a second.
func TestTwoInstancesOnPostgres(t *testing.T) {
	t.Parallel()
	databaseURL := storetest.EmptySchema(t) // skips without TEST_DATABASE_URL
	dir := t.TempDir()
	bin := filepath.Join(dir, "switchboard")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	env := append(os.Environ(),
		"DATABASE_URL="+databaseURL,
		"SWITCHBOARD_SECRET="+strings.Repeat("s", 40),
		"SWITCHBOARD_DEMO=false",
		"SWITCHBOARD_LOG_LEVEL=warn",
		"SWITCHBOARD_DATA_DIR="+dir,
		"SWITCHBOARD_OWNER_PASSWORD=owner password 1",
		"NATS_URL=",
	)
	create := exec.CommandContext(t.Context(), bin, "create-tenant", "-name", "Acme", "-slug", "acme",
		"-owner-name", "Olivia", "-owner-email", "olivia@acme.test")
	create.Env = env
	out, err := create.CombinedOutput()
	require.NoError(t, err, "%s", out)

	start := func(name string) string {
		addr := graphtest.FreeAddr(t)
		cmd := exec.Command(bin)
		cmd.Env = append(env, "SWITCHBOARD_ADDR="+addr)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start(), name)
		t.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
		})
		graphtest.WaitReady(t, "http://"+addr+"/readyz")
		return addr
	}
	a, b := start("A"), start("B")

	post := func(token, query string) map[string]any { return graphtest.Post(t, "http://"+a, token, query, nil) }
	token := func(email, password string) string {
		d := post("", `mutation { login(email: "`+email+`", password: "`+password+`") { accessToken } }`)
		return d["login"].(map[string]any)["accessToken"].(string)
	}
	owner := token("olivia@acme.test", "owner password 1")
	ann := post(owner, `mutation { createAgent(input: {name: "Ann", email: "ann@acme.test", password: "ann password 1"}) { id } }`)
	annID := ann["createAgent"].(map[string]any)["id"].(string)
	annToken := token("ann@acme.test", "ann password 1")

	// The owner listens on B; Ann is connected to B too.
	ownerWS := dialInit(t, b, owner)
	ownerWS.send(`{"id":"n","type":"subscribe","payload":{"query":"subscription { numberStatusChanged { kind number { phone status } } }"}}`)
	annWS := dialInit(t, b, annToken)
	time.Sleep(200 * time.Millisecond) // let the subscription start on B

	post(owner, `mutation { linkNumber(input: {phone: "+33612345678", displayName: "Main"}) { id } }`)
	m := ownerWS.read()
	require.Equal(t, "next", m["type"], "%v", m)
	require.Contains(t, fmt.Sprint(m["payload"]), "+33612345678", "B heard of the number linked through A")

	disabled := time.Now()
	post(owner, `mutation { disableAgent(id: "`+annID+`") { id } }`)
	code, after := annWS.closedWithin(5 * time.Second)
	require.Equal(t, gateway.CloseForbidden, code)
	t.Logf("Ann's socket on B closed %v after the disable on A returned", after)
	require.Less(t, time.Since(disabled), time.Second+200*time.Millisecond, "closed within a second (with slack for the HTTP round trip)")
}

type wsClient struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialInit(t *testing.T, addr, token string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/graphql", &websocket.DialOptions{Subprotocols: []string{gateway.ProtocolTransportWS}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ws.CloseNow() })
	c := &wsClient{t: t, ws: ws}
	c.send(`{"type":"connection_init","payload":{"Authorization":"Bearer ` + token + `"}}`)
	require.Equal(t, "connection_ack", c.read()["type"])
	return c
}

func (c *wsClient) send(msg string) {
	require.NoError(c.t, c.ws.Write(c.t.Context(), websocket.MessageText, []byte(msg)))
}

func (c *wsClient) read() map[string]any {
	c.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
		_, data, err := c.ws.Read(ctx)
		cancel()
		require.NoError(c.t, err)
		var m map[string]any
		require.NoError(c.t, json.Unmarshal(data, &m))
		if m["type"] != "ping" {
			return m
		}
	}
}

// closedWithin waits for the server to close and returns the code and when.
func (c *wsClient) closedWithin(d time.Duration) (websocket.StatusCode, time.Duration) {
	c.t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(c.t.Context(), d)
	defer cancel()
	for {
		if _, _, err := c.ws.Read(ctx); err != nil {
			require.NoError(c.t, ctx.Err(), "not closed within %v", d)
			return websocket.CloseStatus(err), time.Since(start)
		}
	}
}
