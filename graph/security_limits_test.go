package graph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/pulid"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// The queries a console naturally writes pass with the default limits: a
// connection is priced by what it fetches (a totalCount-only one costs one
// count), and a nested connection without first fetches a default page, not
// every row.
func TestNaturalQueriesPass(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		tenantID, token := s.Tenant(t, "natural")
		ctx := viewer.System(t.Context(), tenantID)
		c := db.Client
		num, err := c.Number.Create().SetPhone("+33612340000").SetDisplayName("Main").Save(ctx)
		require.NoError(t, err)
		ct, err := c.Contact.Create().SetWaID("33700000001").SetPhone("+33700000001").Save(ctx)
		require.NoError(t, err)
		conv, err := c.Conversation.Create().SetNumberID(num.ID).SetContactID(ct.ID).Save(ctx)
		require.NoError(t, err)
		const written = graph.DefaultPageSize + 10
		at := time.Now()
		for i := range written {
			_, err := c.Message.Create().SetConversationID(conv.ID).SetNumberID(num.ID).SetDirection(message.DirectionINBOUND).
				SetStatus(message.StatusRECEIVED).SetBody(fmt.Sprint("message ", i)).SetCreatedAt(at.Add(time.Duration(i) * time.Millisecond)).Save(ctx)
			require.NoError(t, err)
		}

		s.Do(t, token, `{ groups { edges { node { members { totalCount } } } } }`, nil).RequireOK(t)

		r := s.Do(t, token, `{ conversations { edges { node { id status
			contact { profileName } messages { totalCount edges { node { id body direction status createdAt } } } } } } }`, nil)
		r.RequireOK(t)
		var out struct {
			Conversations struct {
				Edges []struct {
					Node struct {
						Messages struct {
							TotalCount int
							Edges      []struct{ Node struct{ ID string } }
						}
					}
				}
			}
		}
		r.Decode(t, &out)
		require.Len(t, out.Conversations.Edges, 1)
		msgs := out.Conversations.Edges[0].Node.Messages
		require.Equal(t, written, msgs.TotalCount)
		require.Len(t, msgs.Edges, graph.DefaultPageSize, "a nested connection without first fetches a default page")
	})
}

// Amplification is still refused, each with its stable code: aliases,
// nesting, list arguments and expensive fields.
func TestAmplificationRefused(t *testing.T) {
	t.Parallel()
	s := graphtest.New(t, storetest.Open(t, dialect.SQLite), graph.Config{})
	_, token := s.Tenant(t, "amplify")
	aliases := func(n int, field string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, " a%d: %s", i, field)
		}
		return b.String() + " }"
	}
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = pulid.New("cnv")
		}
		return out
	}
	const nodes = `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`
	tests := []struct {
		name, query string
		vars        map[string]any
		code        string
	}{
		{"1,000 aliases", aliases(1000, "viewer { kind }"), nil, "QUERY_TOO_COMPLEX"},
		{"15 levels deep", deepQuery(15), nil, "QUERY_TOO_DEEP"},
		{"nodes with 20,000 ids", nodes, map[string]any{"ids": ids(20_000)}, "QUERY_TOO_COMPLEX"},
		{"nodes with more than a page of ids", nodes, map[string]any{"ids": ids(graph.MaxPageSize + 1)}, "INVALID_INPUT"},
		{"a filter with 20,000 ids", `query($ids: [ID!]) { conversations(where: {idIn: $ids}) { totalCount } }`,
			map[string]any{"ids": ids(20_000)}, "QUERY_TOO_COMPLEX"},
		{"aliases of verifyAuditChain", aliases(100, "verifyAuditChain { ok }"), nil, "QUERY_TOO_COMPLEX"},
		// Every agent may ask for their own report: a year of it, twenty times over, is refused.
		{"aliases of report", aliases(20, `report(input: {from: "2026-01-01", to: "2026-12-31"}) { from }`), nil, "QUERY_TOO_COMPLEX"},
		{"pages of pages", `{ conversations(first: 100) { edges { node { messages(first: 100) { edges { node { id } } } } } } }`,
			nil, "QUERY_TOO_COMPLEX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := s.Do(t, token, tt.query, tt.vars)
			require.NotEmpty(t, r.Errors, "%s", r.Body)
			require.Equal(t, tt.code, r.Errors[0].Code(), "%s", r.Errors[0].Message)
		})
	}
	t.Run("just inside", func(t *testing.T) {
		t.Parallel()
		s.Do(t, token, aliases(graph.DefaultSignedInLimits.Aliases, "viewer { kind }"), nil).RequireOK(t)
		r := s.Do(t, token, nodes, map[string]any{"ids": ids(graph.MaxPageSize)})
		require.NotContains(t, r.Codes(), "QUERY_TOO_COMPLEX")
		require.NotContains(t, r.Codes(), "INVALID_INPUT")
		s.Do(t, token, deepQuery(graph.DefaultConfig.MaxDepth), nil).RequireOK(t)
	})
}

// The worst documents known for validation are refused before validation
// runs: the test counts validations rather than timing them (see
// BenchmarkWorstDocuments for the time).
func TestDocumentBoundedBeforeValidation(t *testing.T) {
	t.Parallel()
	var validations atomic.Int64
	s := graphtest.New(t, storetest.Open(t, dialect.SQLite), graph.CountingValidations(graph.DefaultConfig, &validations))
	_, token := s.Tenant(t, "bound")
	before := validations.Load()
	for _, d := range graph.WorstDocuments() {
		for _, caller := range []struct{ name, token string }{{"anonymous", ""}, {"signed in", token}} {
			t.Run(d.Name+"/"+caller.name, func(t *testing.T) {
				require.Less(t, len(d.Query), int(graph.DefaultConfig.MaxBodyBytes), "under the body limit")
				r := s.Do(t, caller.token, d.Query, nil)
				require.NotEmpty(t, r.Errors, "%s", r.Body)
				require.Contains(t, []string{"QUERY_TOO_COMPLEX", "GRAPHQL_PARSE_FAILED"}, r.Errors[0].Code(), "%s", r.Errors[0].Message)
			})
		}
	}
	require.Equal(t, before, validations.Load(), "no worst document reached validation")

	// The costliest documents a signed-in caller may send are validated.
	for _, d := range graph.EdgeDocuments() {
		before := validations.Load()
		s.Do(t, token, d.Query, nil)
		require.Equal(t, before+1, validations.Load(), "%s passes the bound", d.Name)
	}
	before = validations.Load()

	// What callers need still validates: introspection anonymously, a sign-in.
	s.Do(t, "", graph.IntrospectionQuery, nil).RequireOK(t)
	s.Login(t, "owner@bound.test", graphtest.Password)
	require.Greater(t, validations.Load(), before)
}

// FuzzAnonymousDocument sends GraphQL documents through the whole handler
// as an anonymous caller: whatever the document, the answer is a coded
// client error or data, never a 5xx, a panic or INTERNAL. `make fuzz` runs
// it; BenchmarkWorstDocuments times the worst seeds.
func FuzzAnonymousDocument(f *testing.F) {
	for _, d := range graph.WorstDocuments() {
		if len(d.Query) < 64<<10 {
			f.Add(d.Query)
		}
	}
	for _, q := range []string{
		graph.IntrospectionQuery, "{ __typename }", `{ __type(name: "Query") { fields { name } } }`,
		`mutation { login(email: "a@b.c", password: "x") { accessToken } }`,
		`query($a: [[ID!]]) { nodes(ids: $a) { id } }`, "{ ...F } fragment F on Query { ...F }",
		`subscription { dashboard { at } }`, "{ viewer @skip(if: true) @skip(if: false) { kind } }",
	} {
		f.Add(q)
	}
	s := graphtest.New(f, storetest.Open(f, dialect.SQLite), graph.Config{}, graphtest.Quiet())
	f.Fuzz(func(t *testing.T, query string) {
		body, err := json.Marshal(map[string]any{"query": query})
		require.NoError(t, err)
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.Handler.ServeHTTP(rec, req)
		require.Less(t, rec.Code, 500, "query %q: %s", query, rec.Body)
		require.NotContains(t, rec.Body.String(), `"code":"INTERNAL"`, "query %q", query)
		require.True(t, json.Valid(rec.Body.Bytes()), "query %q: %s", query, rec.Body)
	})
}
