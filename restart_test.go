package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestResumeAfterRestart stops the server and starts it again on the same
// data while a client is away. The client resumes its subscription with the
// last Seq it saw and receives what it missed (the bus kept it: NATS,
// Postgres) or a RESYNC (the in-process bus of a SQLite deployment lost
// its window) — and in both cases the live events that follow, whose Seq is
// above the one it resumed from.
func TestResumeAfterRestart(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		// replays: the bus outlives the process, so what was missed is
		// replayed rather than announced as a RESYNC.
		replays bool
	}{
		{"sqlite", map[string]string{}, false},
	}
	if u := os.Getenv("TEST_NATS_URL"); u != "" {
		cases = append(cases, struct {
			name    string
			env     map[string]string
			replays bool
		}{"sqlite+nats", map[string]string{"NATS_URL": u}, true})
	}
	if os.Getenv(storetest.EnvDatabaseURL) != "" {
		cases = append(cases, struct {
			name    string
			env     map[string]string
			replays bool
		}{"postgres", map[string]string{"DATABASE_URL": storetest.EmptySchema(t)}, true})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{
				"SWITCHBOARD_DATA_DIR": t.TempDir(), "SWITCHBOARD_ADDR": graphtest.FreeAddr(t), "SWITCHBOARD_SIMULATOR": "false",
				"SWITCHBOARD_DEMO": "true", "SWITCHBOARD_SECRET": strings.Repeat("r", 40), "SWITCHBOARD_WHATSAPP_APP_SECRET": "restart-test-app-secret",
			}
			for k, v := range tc.env {
				env[k] = v
			}
			cfg, err := app.LoadConfig(func(k string) string { return env[k] })
			require.NoError(t, err)
			srv := &demoServer{base: "http://" + cfg.Addr, addr: cfg.Addr, secret: cfg.WhatsAppAppSecret}
			start := func() (stop func()) {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- serve(ctx, cfg, newLogger(app.Config{LogLevel: 8}), &bytes.Buffer{}) }()
				graphtest.WaitReady(t, srv.base+"/readyz")
				stopped := false
				stop = func() {
					if stopped {
						return
					}
					stopped = true
					cancel()
					select {
					case err := <-done:
						require.NoError(t, err)
					case <-time.After(20 * time.Second):
						t.Error("the server did not stop")
					}
				}
				t.Cleanup(stop)
				return stop
			}
			const sub = `{"id":"c","type":"subscribe","payload":{"query":"subscription($after: Int) { conversationEvents(after: $after) { seq kind conversation { contact { profileName } } } }","variables":{"after":%s}}}`
			// next reads the subscription's next event: its Seq, kind and
			// customer.
			next := func(c *wsClient) (seq int64, kind, who string) {
				t.Helper()
				m := c.read()
				require.Equal(t, "next", m["type"], "%v", m)
				var ev struct {
					Data struct {
						ConversationEvents struct {
							Seq          int64
							Kind         string
							Conversation *struct{ Contact struct{ ProfileName string } }
						}
					}
				}
				b, _ := json.Marshal(m["payload"])
				require.NoError(t, json.Unmarshal(b, &ev), "%s", b)
				e := ev.Data.ConversationEvents
				if e.Conversation != nil {
					who = e.Conversation.Contact.ProfileName
				}
				return e.Seq, e.Kind, who
			}
			// untilFrom reads events until one is about the customer who.
			untilFrom := func(c *wsClient, who string) (seq int64, kinds []string) {
				t.Helper()
				for {
					s, k, w := next(c)
					kinds = append(kinds, k)
					if w == who {
						return s, kinds
					}
				}
			}

			stop := start()
			token := srv.login(t, demo.OwnerEmail)
			c := dialInit(t, srv.addr, token)
			c.send(fmt.Sprintf(sub, "null"))
			time.Sleep(200 * time.Millisecond) // let the subscription start
			// More events before the restart than after it: a sequence that
			// started again would stay below the Seq the client resumes from.
			var seen int64
			for i := range 4 {
				srv.webhook(t, parisNumber, fmt.Sprintf("3369990010%d", i), fmt.Sprintf("Before Restart %d", i), "hello before")
				seen, _ = untilFrom(c, fmt.Sprintf("Before Restart %d", i))
			}

			stop()
			start()
			srv.webhook(t, parisNumber, "33699900102", "While Away", "hello while the client was away")

			c = dialInit(t, srv.addr, token) // the secret is in the data directory: the token is still good
			c.send(fmt.Sprintf(sub, fmt.Sprint(seen)))
			if tc.replays {
				missed, _ := untilFrom(c, "While Away")
				require.Greater(t, missed, seen, "the missed event comes after the Seq resumed from")
			} else {
				s, k, _ := next(c)
				require.Equal(t, "RESYNC", k, "the in-process bus lost its window: the first event says reload")
				t.Logf("resumed after %d: RESYNC at %d", seen, s)
			}
			srv.webhook(t, parisNumber, "33699900103", "After Restart", "hello after")
			live, kinds := untilFrom(c, "After Restart")
			require.Greater(t, live, seen, "live events after a restart have a greater Seq than before it (%v)", kinds)
			t.Logf("before the restart Seq %d, live after it Seq %d", seen, live)
		})
	}
}
