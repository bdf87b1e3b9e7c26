package graph_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/pulid"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// deepQuery nests conversation → contact → conversations until it is levels deep.
func deepQuery(levels int) string {
	var b strings.Builder
	b.WriteString("{ conversations(first: 1) { edges { node { ")
	depth := 3
	for depth+4 <= levels {
		b.WriteString("contact { conversations(first: 1) { edges { node { ")
		depth += 4
	}
	b.WriteString("id")
	b.WriteString(strings.Repeat(" } } } }", (depth-3)/4))
	b.WriteString(" } } } }")
	return b.String()
}

func TestBadInputGetsAStableCode(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		json := "application/json"
		post := func(body string) graphtest.Response { return s.Raw(t, w.token, json, []byte(body)) }
		query := func(q string) graphtest.Response { return s.Do(t, w.token, q, nil) }
		tests := []struct {
			name   string
			do     func() graphtest.Response
			status int
			code   string
		}{
			{"malformed JSON", func() graphtest.Response { return post(`{"query": "{ viewer { kind } }"`) }, 400, "BAD_REQUEST"},
			{"JSON that is not an object", func() graphtest.Response { return post(`[{"query": "{ __typename }"}]`) }, 400, "BAD_REQUEST"},
			{"empty body", func() graphtest.Response { return post(``) }, 400, "BAD_REQUEST"},
			{"wrong content type", func() graphtest.Response {
				return s.Raw(t, w.token, "text/plain", []byte(`{"query": "{ __typename }"}`))
			}, 415, "BAD_REQUEST"},
			{"oversize body", func() graphtest.Response {
				return post(`{"query": "{ __typename }", "variables": {"pad": "` + strings.Repeat("x", 2<<20) + `"}}`)
			}, 413, "PAYLOAD_TOO_LARGE"},
			{"GET with malformed variables", func() graphtest.Response {
				req := httptest.NewRequestWithContext(t.Context(), http.MethodGet,
					"/graphql?query="+url.QueryEscape("{ __typename }")+"&variables="+url.QueryEscape("{nope"), nil)
				req.Header.Set("Authorization", "Bearer "+w.token)
				return s.Serve(t, req)
			}, 400, "BAD_REQUEST"},
			{"syntax error", func() graphtest.Response { return query(`{ viewer { kind }`) }, 200, "GRAPHQL_PARSE_FAILED"},
			{"unknown field", func() graphtest.Response { return query(`{ conversations { edges { node { bogus } } } }`) }, 200, "GRAPHQL_VALIDATION_FAILED"},
			{"unknown argument", func() graphtest.Response { return query(`{ conversations(bogus: 1) { totalCount } }`) }, 200, "GRAPHQL_VALIDATION_FAILED"},
			{"unknown input field", func() graphtest.Response {
				return query(`mutation { createTeam(input: {name: "x", bogus: 1}) { id } }`)
			}, 200, "GRAPHQL_VALIDATION_FAILED"},
			{"variable of the wrong type", func() graphtest.Response {
				return s.Do(t, w.token, `query($n: Int!) { conversations(first: $n) { totalCount } }`, map[string]any{"n": "ten"})
			}, 200, "GRAPHQL_VALIDATION_FAILED"},
			{"id that is not an id", func() graphtest.Response { return query(`{ node(id: "42") { id } }`) }, 200, "INVALID_INPUT"},
			{"id with an unknown prefix", func() graphtest.Response { return query(`{ node(id: "` + pulid.New("zzz") + `") { id } }`) }, 200, "INVALID_INPUT"},
			{"id of the wrong type", func() graphtest.Response {
				return query(`mutation { resolveConversation(id: "` + w.number + `") { id } }`)
			}, 200, "INVALID_INPUT"},
			{"id argument of the wrong type", func() graphtest.Response {
				return query(`mutation { sendText(conversationID: "` + w.agent + `", body: "hi") { id } }`)
			}, 200, "INVALID_INPUT"},
			{"id in an input of the wrong type", func() graphtest.Response {
				return query(`mutation { createTeam(input: {name: "x", agentIDs: ["` + w.number + `"]}) { id } }`)
			}, 200, "INVALID_INPUT"},
			{"invalid value", func() graphtest.Response {
				return query(`mutation { linkNumber(input: {phone: "0612", displayName: "x"}) { id } }`)
			}, 200, "INVALID_INPUT"},
			{"short password", func() graphtest.Response {
				return query(`mutation { createAgent(input: {name: "x", email: "x@alpha.test", password: "short"}) { id } }`)
			}, 200, "INVALID_INPUT"},
			{"page too large", func() graphtest.Response { return query(`{ conversations(first: 1000) { totalCount } }`) }, 200, "INVALID_INPUT"},
			{"duplicate", func() graphtest.Response { return query(`mutation { createTeam(input: {name: "Support"}) { id } }`) }, 200, "CONFLICT"},
			{"too deep", func() graphtest.Response { return query(deepQuery(15)) }, 200, "QUERY_TOO_DEEP"},
			{"too complex", func() graphtest.Response {
				return query(`{ conversations(first: 100) { edges { node { messages(first: 100) { edges { node { id body } } } } } } }`)
			}, 200, "QUERY_TOO_COMPLEX"},
			{"unknown persisted query", func() graphtest.Response {
				return post(`{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "` + strings.Repeat("ab", 32) + `"}}}`)
			}, 200, "PERSISTED_QUERY_NOT_FOUND"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := tt.do()
				require.Equal(t, tt.status, r.Status, "%s", r)
				require.NotEmpty(t, r.Errors, "%s", r)
				require.Equal(t, tt.code, r.Errors[0].Code(), "%s", r)
			})
		}
		// Just inside the limits is fine.
		query(deepQuery(graph.DefaultConfig.MaxDepth)).RequireOK(t)
	})
}

func TestPersistedQueryRoundTrip(t *testing.T) {
	t.Parallel()
	s := graphtest.New(t, storetest.Open(t, dialect.SQLite), graph.Config{})
	_, token := s.Tenant(t, "acme")
	const q = `{ viewer { kind } }`
	r := s.Raw(t, token, "application/json", []byte(`{"query": "`+q+`", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "`+sha256Hex(q)+`"}}}`))
	r.RequireOK(t)
	r = s.Raw(t, token, "application/json", []byte(`{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "`+sha256Hex(q)+`"}}}`))
	r.RequireOK(t)
	require.JSONEq(t, `{"viewer":{"kind":"AGENT"}}`, string(r.Data))
}

// FuzzRequestBody: whatever the body, the answer is a coded GraphQL error or
// data, never a 5xx or a panic.
func FuzzRequestBody(f *testing.F) {
	for _, seed := range []string{
		`{"query": "{ __typename }"}`, `{"query": "{ viewer { kind } }"}`, `{"query": 1}`, `{"query": "{", "variables": []}`,
		`{"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": "cnv_"}}`,
		`{"query": "mutation { login(email: \"a\", password: \"b\") { accessToken } }"}`,
		`null`, `{}`, `{"operationName": 3}`, "\x00\xff", `{"extensions": {"persistedQuery": {"version": 2}}}`,
	} {
		f.Add([]byte(seed))
	}
	s := graphtest.New(f, storetest.Open(f, dialect.SQLite), graph.Config{})
	_, token := s.Tenant(f, "fuzz")
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		s.Handler.ServeHTTP(rec, req)
		require.Less(t, rec.Code, 500, "body %q: %s", body, rec.Body)
		if rec.Code != http.StatusOK {
			require.Contains(t, rec.Body.String(), `"code":"`, "body %q: %s", body, rec.Body)
		}
	})
}
