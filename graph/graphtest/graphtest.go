// Package graphtest runs GraphQL operations against the real API handler in
// process, for tests: each Server has its own database (store/storetest).
package graphtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/tenant"
)

// Password is the password of every agent a test creates through Server.
const Password = "correct horse battery"

// Server is the App (package app, built as the server builds it) over one
// test database, with an in-memory bus unless told otherwise.
type Server struct {
	App     *app.App
	DB      *store.DB
	Handler http.Handler // the GraphQL endpoint (App.API)
	Auth    *auth.Service
	Authz   *policy.Authorizer
	Bus     realtime.Bus
	Gateway *gateway.Gateway
}

// Option adjusts a Server before it is built.
type Option func(*options)

type options struct {
	app       []app.Option
	configure []func(*app.Config)
}

// Quiet starts no background work on the database (the presence lease
// loop), for tests that count the statements a request costs.
func Quiet() Option { return WithApp(app.WithQuietPresence()) }

// WithBus makes the Server use bus instead of a fresh in-memory one (two
// "instances" over one Postgres bus).
func WithBus(bus realtime.Bus) Option { return WithApp(app.WithBus(bus)) }

// WithGateway sets the websocket gateway's configuration.
func WithGateway(cfg graph.GatewayConfig) Option {
	return WithConfig(func(c *app.Config) { c.Gateway = cfg })
}

// WithApp passes options to app.New, after the Server's own (which leave
// the job workers off: sent messages stay QUEUED unless
// app.WithWorkers(true) is given).
func WithApp(opts ...app.Option) Option {
	return func(o *options) { o.app = append(o.app, opts...) }
}

// WithConfig changes the App's configuration (Config) before it is built.
func WithConfig(f func(*app.Config)) Option {
	return func(o *options) { o.configure = append(o.configure, f) }
}

// Secret signs the Server's tokens and seals its numbers' credentials.
var Secret = []byte(strings.Repeat("k", 32))

// Config is the App configuration a Server starts from: no demo, no
// simulator, a provider URL where nothing listens (a test never calls the
// real provider by accident), no pair limit (a test sending twice to one
// customer would wait 6 s), a short presence grace, fast job polling.
func Config() app.Config {
	return app.Config{
		Secret:             Secret,
		API:                graph.DefaultConfig,
		Gateway:            graph.GatewayConfig{InitTimeout: 2 * time.Second},
		AccessTokenTTL:     15 * time.Minute,
		RefreshTokenTTL:    time.Hour,
		ShutdownTimeout:    5 * time.Second,
		PresenceGrace:      50 * time.Millisecond,
		WhatsAppAPIURL:     "http://127.0.0.1:1",
		SimURL:             "http://127.0.0.1:1",
		WhatsAppAPIVersion: "v21.0",
		HealthInterval:     time.Hour,
		JobPollInterval:    50 * time.Millisecond,
		JobTimeout:         time.Minute,
		JobRescueAfter:     2 * time.Minute,
		SendWorkers:        8,
	}
}

// New returns a Server over db with cfg (graph.DefaultConfig when zero).
func New(t testing.TB, db *store.DB, cfg graph.Config, opts ...Option) *Server {
	t.Helper()
	c := Config()
	if cfg != (graph.Config{}) {
		c.API = cfg
	}
	c.API.StrictAudit = true // a mutation without its declared audit record fails
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	for _, f := range o.configure {
		f(&c)
	}
	bus := realtime.NewMemory()
	t.Cleanup(func() { _ = bus.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	base := []app.Option{app.WithDB(db), app.WithBus(bus), app.WithLogger(log), app.WithWorkers(false)}
	a, err := app.New(t.Context(), c, append(base, o.app...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	require.NoError(t, a.Start(context.Background()))
	return &Server{App: a, DB: db, Handler: a.API(), Auth: a.Auth, Authz: a.Authz, Bus: a.Bus, Gateway: a.Gateway}
}

// Tenant creates a tenant whose owner signs in as owner@<slug>.test.
func (s *Server) Tenant(t testing.TB, slug string) (tenantID, ownerToken string) {
	t.Helper()
	ten, _, err := tenant.Create(t.Context(), s.DB.Client, tenant.Input{
		Name: "Tenant " + slug, Slug: slug, OwnerName: "Owner " + slug,
		OwnerEmail: "owner@" + slug + ".test", OwnerPassword: Password,
	})
	require.NoError(t, err)
	return ten.ID, s.Login(t, "owner@"+slug+".test", Password)
}

// Login signs in and returns the access token.
func (s *Server) Login(t testing.TB, email, password string) string {
	t.Helper()
	r := s.Do(t, "", `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
		map[string]any{"e": email, "p": password})
	r.RequireOK(t)
	var out struct{ Login struct{ AccessToken string } }
	r.Decode(t, &out)
	return out.Login.AccessToken
}

// Response is a GraphQL response with its HTTP status.
type Response struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
	Body   []byte          `json:"-"`
}

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code is the error's extensions.code.
func (e Error) Code() string {
	c, _ := e.Extensions["code"].(string)
	return c
}

// Do posts a GraphQL operation with token as bearer (none when empty).
func (s *Server) Do(t testing.TB, token, query string, vars map[string]any) Response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	return s.Raw(t, token, "application/json", body)
}

// Raw posts body as is, for malformed requests.
func (s *Server) Raw(t testing.TB, token, contentType string, body []byte) Response {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return s.Serve(t, req)
}

// Serve runs any request through the handler and decodes the answer.
func (s *Server) Serve(t testing.TB, req *http.Request) Response {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, req)
	r := Response{Status: rec.Code, Body: rec.Body.Bytes()}
	require.NoError(t, json.Unmarshal(r.Body, &r), "body: %s", r.Body)
	return r
}

// RequireOK fails the test unless the response has no errors.
func (r Response) RequireOK(t testing.TB) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
	require.Empty(t, r.Errors, "body: %s", r.Body)
}

// Decode unmarshals data into v.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Data, v), "data: %s", r.Data)
}

// Codes lists the error codes in order.
func (r Response) Codes() []string {
	out := make([]string, len(r.Errors))
	for i, e := range r.Errors {
		out[i] = e.Code()
	}
	return out
}

// RequireCode fails unless the response has exactly one error, with code.
func (r Response) RequireCode(t testing.TB, code string) {
	t.Helper()
	require.Len(t, r.Errors, 1, "body: %s", r.Body)
	require.Equal(t, code, r.Errors[0].Code(), "body: %s", r.Body)
}

// String shows the body, for messages.
func (r Response) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// FreeAddr returns a loopback address nothing listens on, for a server the
// test starts (app.Config.Addr).
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// WaitReady waits until url (a server's /readyz) answers 200, at most 30 s.
func WaitReady(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", url)
}

// Post runs query as token against the running server at base
// ("http://host:port") over HTTP and returns its data; an error in the
// answer fails the test. For servers started as processes or with App.Run;
// Server.Do serves in process.
func Post(t testing.TB, base, token, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	require.Nil(t, out["errors"], "%s: %v", query, out)
	data, _ := out["data"].(map[string]any)
	return data
}
