package app_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
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
	quiet := app.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	config := func(env map[string]string) app.Config {
		base := map[string]string{
			"DATABASE_URL": url, "SWITCHBOARD_SECRET": strings.Repeat("m", 40), "SWITCHBOARD_DEMO": "true",
			"SWITCHBOARD_ADDR": graphtest.FreeAddr(t), "SWITCHBOARD_JOB_POLL_INTERVAL": "50ms", "NATS_URL": "",
		}
		for k, v := range env {
			base[k] = v
		}
		cfg, err := app.LoadConfig(func(k string) string { return base[k] })
		require.NoError(t, err)
		return cfg
	}
	run := func(a *app.App) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done; _ = a.Close() })
		graphtest.WaitReady(t, "http://"+a.Config.Addr+"/readyz")
	}

	// A runs the simulator, and no job workers: every send below is C's.
	a, err := app.New(t.Context(), config(nil), quiet, app.WithWorkers(false))
	require.NoError(t, err)
	require.NotNil(t, a.Simulator())
	run(a)

	_, err = app.New(t.Context(), config(nil), quiet)
	require.ErrorContains(t, err, "SWITCHBOARD_SIM_URL")

	c, err := app.New(t.Context(), config(map[string]string{"SWITCHBOARD_SIM_URL": "http://" + a.Config.Addr + "/sim/"}), quiet)
	require.NoError(t, err)
	require.Nil(t, c.Simulator(), "C runs no simulator of its own")
	require.Equal(t, "http://"+a.Config.Addr+"/sim", c.Config.WhatsAppAPIURL)
	run(c)

	post := func(token, query string) map[string]any {
		return graphtest.Post(t, "http://"+c.Config.Addr, token, query, nil)
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
		for _, s := range a.Simulator().Log() {
			if s.To == waID {
				return true
			}
		}
		return false
	}, 20*time.Second, 50*time.Millisecond, "C's send reached A's simulator")
}
