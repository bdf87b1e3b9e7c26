package graph_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/middleware"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// A JSON body whose query, variables, operationName or extensions has the
// wrong type is the client's mistake: BAD_REQUEST naming the field, on every
// HTTP transport (SSE included), never INTERNAL.
func TestMistypedRequestFieldsAreBadRequests(t *testing.T) {
	t.Parallel()
	s := graphtest.New(t, storetest.Open(t, dialect.SQLite), graph.Config{})
	tests := []struct {
		name, body, field string
	}{
		{"query is a number", `{"query": 42}`, "query"},
		{"query is an object", `{"query": {"text": "{ __typename }"}}`, "query"},
		{"variables is a string", `{"query": "{ __typename }", "variables": "{}"}`, "variables"},
		{"variables is an array", `{"query": "{ __typename }", "variables": [1]}`, "variables"},
		{"operationName is a number", `{"query": "{ __typename }", "operationName": 1}`, "operationName"},
		{"operationName is an object", `{"query": "{ __typename }", "operationName": {}}`, "operationName"},
		{"extensions is a string", `{"query": "{ __typename }", "extensions": "apq"}`, "extensions"},
		{"extensions is an array", `{"query": "{ __typename }", "extensions": []}`, "extensions"},
	}
	for _, tt := range tests {
		for _, accept := range []string{"application/json", "text/event-stream"} {
			t.Run(tt.name+" "+accept, func(t *testing.T) {
				t.Parallel()
				req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/graphql", strings.NewReader(tt.body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", accept)
				r := s.Serve(t, req)
				require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
				require.Len(t, r.Errors, 1, "%s", r.Body)
				require.Equal(t, "BAD_REQUEST", r.Errors[0].Code())
				require.Equal(t, tt.field, r.Errors[0].Extensions["field"])
				require.Contains(t, r.Errors[0].Message, tt.field)
			})
		}
	}
	t.Run("GET variables that are not an object", func(t *testing.T) {
		t.Parallel()
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet,
			"/graphql?query="+url.QueryEscape("{ __typename }")+"&variables="+url.QueryEscape("[1]"), nil)
		r := s.Serve(t, req)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		require.Equal(t, "BAD_REQUEST", r.Errors[0].Code())
		require.Equal(t, "variables", r.Errors[0].Extensions["field"])
	})
	t.Run("null fields are absent fields", func(t *testing.T) {
		t.Parallel()
		s.Raw(t, "", "application/json", []byte(`{"query": "{ __typename }", "variables": null, "operationName": null, "extensions": null}`)).RequireOK(t)
	})
}

// The GraphQL-over-HTTP spec: a request that cannot run (parse, validation,
// limits) answers 200 with errors to application/json, 4xx to
// application/graphql-response+json, and in both cases has no data entry. A
// mutation over GET answers 405.
func TestRequestErrorsFollowGraphQLOverHTTP(t *testing.T) {
	t.Parallel()
	s := graphtest.New(t, storetest.Open(t, dialect.SQLite), graph.Config{})
	_, token := s.Tenant(t, "spec")
	post := func(t *testing.T, accept, query string) (int, map[string]json.RawMessage, string) {
		body, err := json.Marshal(map[string]any{"query": query})
		require.NoError(t, err)
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		rec := httptest.NewRecorder()
		s.Handler.ServeHTTP(rec, req)
		var out map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), "%s", rec.Body)
		return rec.Code, out, rec.Header().Get("Content-Type")
	}
	failures := []struct{ name, query string }{
		{"parse", `{ viewer { kind }`},
		{"validation", `{ bogus }`},
		{"depth limit", deepQuery(15)},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range []struct {
				accept, media string
				status        int
			}{
				{"", "application/json", http.StatusOK},
				{"application/json", "application/json", http.StatusOK},
				{"application/graphql-response+json", "application/graphql-response+json", http.StatusBadRequest},
				{"application/graphql-response+json, application/json;q=0.9", "application/graphql-response+json", http.StatusBadRequest},
			} {
				status, out, media := post(t, c.accept, f.query)
				require.Equal(t, c.status, status, "Accept %q: %v", c.accept, out)
				require.Equal(t, c.media, media)
				require.Contains(t, out, "errors")
				require.NotContains(t, out, "data", "a request that did not run has no data entry")
			}
		})
	}
	t.Run("a field error is still 200 with data", func(t *testing.T) {
		t.Parallel()
		status, out, _ := post(t, "application/graphql-response+json", `{ node(id: "42") { id } }`)
		require.Equal(t, http.StatusOK, status)
		require.Contains(t, out, "data")
	})
	t.Run("mutation over GET", func(t *testing.T) {
		t.Parallel()
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet,
			"/graphql?query="+url.QueryEscape(`mutation { logout }`), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		r := s.Serve(t, req)
		require.Equal(t, http.StatusMethodNotAllowed, r.Status, "%s", r.Body)
		require.Equal(t, "BAD_REQUEST", r.Errors[0].Code())
	})
}

// A login's password never reaches the log, at any level, whatever the
// request looks like: well formed, mistyped, unparsable, over SSE. The test
// swaps the process's default logger, so it does not run in parallel (Go
// runs a package's sequential tests before resuming its parallel ones).
func TestPasswordNeverLogged(t *testing.T) {
	var logs bytes.Buffer // one handler, whose lock serialises the writes
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	previous := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(previous) })
	t.Run("requests", func(t *testing.T) { // returns when both databases are done
		storetest.Each(t, func(t *testing.T, db *store.DB) { logins(t, db, logger) })
	})
	require.NotEmpty(t, logs.String(), "the requests were logged")
	require.NotContains(t, logs.String(), graphtest.Password)
}

// logins signs in with every shape of request, well formed or not.
func logins(t *testing.T, db *store.DB, logger *slog.Logger) {
	s := graphtest.New(t, db, graph.Config{})
	s.Tenant(t, "secret")
	h := middleware.Log(logger, s.Handler)
	const password = graphtest.Password
	login := `mutation { login(email: "owner@secret.test", password: "` + password + `") { accessToken } }`
	withVars := `mutation($p: String!) { login(email: "owner@secret.test", password: $p) { accessToken } }`
	bodies := []string{
		mustJSON(t, map[string]any{"query": login}),
		mustJSON(t, map[string]any{"query": withVars, "variables": map[string]any{"p": password}}),
		mustJSON(t, map[string]any{"query": withVars, "variables": map[string]any{"p": password + "-wrong"}}),
		mustJSON(t, map[string]any{"query": withVars, "variables": map[string]any{"p": password}, "operationName": 7}),
		mustJSON(t, map[string]any{"query": withVars, "variables": map[string]any{"p": password}, "extensions": "x"}),
		mustJSON(t, map[string]any{"query": login, "variables": password}),
		mustJSON(t, map[string]any{"query": []string{login}}),
		mustJSON(t, map[string]any{"query": login + " {"}),
		mustJSON(t, map[string]any{"query": withVars, "variables": map[string]any{"p": 42, "x": password}}),
		`{"query": "` + strings.ReplaceAll(login, `"`, `\"`) + `", "variables": {` + password, // malformed JSON
	}
	for _, body := range bodies {
		for _, accept := range []string{"application/json", "application/graphql-response+json", "text/event-stream"} {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/graphql", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", accept)
			h.ServeHTTP(httptest.NewRecorder(), req)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
