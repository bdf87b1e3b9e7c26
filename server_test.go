package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
)

// TestDemoServer starts the server as `make run` does (SQLite in a data
// directory, demo tenant) and uses the printed login to read conversations.
func TestDemoServer(t *testing.T) {
	t.Parallel()
	out, printed := signInPrinted(t)
	dir := t.TempDir()
	cfg, err := app.LoadConfig(func(k string) string {
		return map[string]string{"SWITCHBOARD_DATA_DIR": dir, "SWITCHBOARD_ADDR": graphtest.FreeAddr(t)}[k]
	})
	require.NoError(t, err)
	require.True(t, cfg.Demo, "the embedded default runs the demo")

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, newLogger(app.Config{LogLevel: 8}), out) }()
	base := "http://" + cfg.Addr
	graphtest.WaitReady(t, base+"/readyz")

	post := func(token, query string) map[string]any { return graphtest.Post(t, base, token, query, nil) }
	var email, password string
	select {
	case signIn := <-printed:
		email, password = signIn[1], signIn[2]
	case <-time.After(10 * time.Second):
		t.Fatal("the server printed no sign-in line")
	}
	login := post("", fmt.Sprintf(`mutation { login(email: %q, password: %q) { accessToken } }`, email, password))
	token := login["login"].(map[string]any)["accessToken"].(string)

	data := post(token, `{ conversations(first: 50) { totalCount edges { node { contact { profileName } lastMessage { body } } } } }`)
	convs := data["conversations"].(map[string]any)
	require.GreaterOrEqual(t, convs["totalCount"], float64(18), "the seeded ones, and the simulator's customers may have written in")
	first := convs["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)
	require.NotEmpty(t, first["lastMessage"].(map[string]any)["body"])

	for path, want := range map[string]string{"/healthz": "ok", "/metrics": "switchboard_http_requests_total", "/": "graphiql"} {
		res, err := http.Get(base + path)
		require.NoError(t, err)
		var b bytes.Buffer
		_, _ = b.ReadFrom(res.Body)
		res.Body.Close()
		require.Equal(t, 200, res.StatusCode, path)
		require.Contains(t, strings.ToLower(b.String()), want, path)
	}

	cancel() // SIGTERM: drain and stop
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop")
	}

	// A second start finds the demo and does not seed it twice.
	db, err := app.OpenStore(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	again, err := demo.Seed(t.Context(), db.Client)
	require.NoError(t, err)
	require.Equal(t, demo.OwnerEmail, again.Email)
}

// signInLine is the banner's line with the demo login.
var signInLine = regexp.MustCompile(`Sign in\s+email (\S+)\s+password (\S+)`)

// signInPrinted returns a writer for the server's banner and the submatches
// of the first sign-in line written to it.
func signInPrinted(t *testing.T) (io.Writer, <-chan []string) {
	t.Helper()
	r, w := io.Pipe()
	t.Cleanup(func() { _ = w.Close() })
	found := make(chan []string, 1)
	go func() {
		lines := bufio.NewScanner(r)
		for lines.Scan() {
			if m := signInLine.FindStringSubmatch(lines.Text()); m != nil && len(found) == 0 {
				found <- m
			}
		}
	}()
	return w, found
}
