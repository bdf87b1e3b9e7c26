package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestOneSimulatorForManyInstances: on one Postgres database the demo's
// simulator runs in one instance only. A second instance asking to run it is
// refused at start, naming SWITCHBOARD_SIM_URL; an instance started with
// SWITCHBOARD_SIM_URL runs none of its own and its send workers deliver the
// demo numbers' messages to the first instance's simulator.
func TestOneSimulatorForManyInstances(t *testing.T) {
	t.Parallel()
	url := storetest.EmptySchema(t)
	quiet := WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	config := func(env map[string]string) Config {
		base := map[string]string{
			"DATABASE_URL": url, "SWITCHBOARD_SECRET": strings.Repeat("m", 40), "SWITCHBOARD_DEMO": "true",
			"SWITCHBOARD_ADDR": freeAddr(t), "SWITCHBOARD_JOB_POLL_INTERVAL": "50ms", "NATS_URL": "",
		}
		for k, v := range env {
			base[k] = v
		}
		cfg, err := LoadConfig(func(k string) string { return base[k] })
		require.NoError(t, err)
		return cfg
	}
	run := func(a *App) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done; _ = a.Close() })
		require.Eventually(t, func() bool {
			res, err := http.Get("http://" + a.Config.Addr + "/readyz")
			if err == nil {
				res.Body.Close()
			}
			return err == nil && res.StatusCode == http.StatusOK
		}, 10*time.Second, 20*time.Millisecond)
	}

	// A runs the simulator, and no job workers: every send below is C's.
	a, err := New(t.Context(), config(nil), quiet, WithWorkers(false))
	require.NoError(t, err)
	require.NotNil(t, a.sim)
	run(a)

	_, err = New(t.Context(), config(nil), quiet)
	require.ErrorContains(t, err, "SWITCHBOARD_SIM_URL")

	c, err := New(t.Context(), config(map[string]string{"SWITCHBOARD_SIM_URL": "http://" + a.Config.Addr + "/sim/"}), quiet)
	require.NoError(t, err)
	require.Nil(t, c.sim, "C runs no simulator of its own")
	require.Equal(t, "http://"+a.Config.Addr+"/sim", c.Config.WhatsAppAPIURL)
	run(c)

	post := func(token, query string) map[string]any {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"query": query})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+c.Config.Addr+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var out struct {
			Data   map[string]any
			Errors []any
		}
		require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
		require.Empty(t, out.Errors, query)
		return out.Data
	}
	login := post("", `mutation { login(email: "`+demo.OwnerEmail+`", password: "`+demo.OwnerPassword+`") { accessToken } }`)
	token := login["login"].(map[string]any)["accessToken"].(string)

	// A's simulated customers write in (through A's webhook); C reads it.
	var conv, waID string
	require.Eventually(t, func() bool {
		d := post(token, `{ conversations(first: 1, where: {hasMessagesWith: {body: "Are you there?"}}) { edges { node { id contact { waID } } } } }`)
		edges := d["conversations"].(map[string]any)["edges"].([]any)
		if len(edges) == 0 {
			return false
		}
		n := edges[0].(map[string]any)["node"].(map[string]any)
		conv, waID = n["id"].(string), n["contact"].(map[string]any)["waID"].(string)
		return true
	}, 20*time.Second, 50*time.Millisecond)

	post(token, `mutation { sendText(conversationID: "`+conv+`", body: "Sent by C") { id } }`)
	require.Eventually(t, func() bool {
		for _, s := range a.sim.sim.Log() {
			if s.To == waID {
				return true
			}
		}
		return false
	}, 20*time.Second, 50*time.Millisecond, "C's send reached A's simulator")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}
