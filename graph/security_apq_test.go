package graph_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// Automatic persisted queries: only a signed-in caller registers a query,
// a tenant never learns whether another tenant ran one, and a wrong hash is
// the client's mistake.
func TestPersistedQueriesAreScoped(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		_, alpha := s.Tenant(t, "apqa")
		_, beta := s.Tenant(t, "apqb")
		apq := func(token, query, hash string) graphtest.Response {
			body := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
			if query != "" {
				body["query"] = query
			}
			b, err := json.Marshal(body)
			require.NoError(t, err)
			return s.Raw(t, token, "application/json", b)
		}
		hashOf := func(q string) string {
			sum := sha256.Sum256([]byte(q))
			return hex.EncodeToString(sum[:])
		}
		notFound := func(t *testing.T, r graphtest.Response) {
			t.Helper()
			require.Equal(t, []string{"PERSISTED_QUERY_NOT_FOUND"}, r.Codes(), "%s", r.Body)
		}

		t.Run("anonymous callers do not register", func(t *testing.T) {
			q := "{ __typename anonymous: __typename }"
			apq("", q, hashOf(q)).RequireOK(t)
			notFound(t, apq("", "", hashOf(q)))
			notFound(t, apq(alpha, "", hashOf(q)))
		})
		t.Run("one tenant's queries are not another's", func(t *testing.T) {
			q := "{ viewer { kind } alpha: __typename }"
			apq(alpha, q, hashOf(q)).RequireOK(t)
			apq(alpha, "", hashOf(q)).RequireOK(t)
			notFound(t, apq(beta, "", hashOf(q)))
			notFound(t, apq("", "", hashOf(q)))
		})
		t.Run("a wrong hash is a bad request", func(t *testing.T) {
			r := apq(alpha, "{ __typename }", hashOf("{ something else }"))
			require.Equal(t, []string{"BAD_REQUEST"}, r.Codes(), "%s", r.Body)
			r = s.Raw(t, alpha, "application/json", []byte(`{"query": "{ __typename }", "extensions": {"persistedQuery": {"version": 2, "sha256Hash": "x"}}}`))
			require.Equal(t, []string{"BAD_REQUEST"}, r.Codes(), "%s", r.Body)
		})
	})
}

// Client mistakes in arguments (a cursor or a time that does not parse)
// answer INVALID_INPUT naming the argument, and are not logged as errors.
func TestClientMistakesAreNotInternal(t *testing.T) {
	var logs bytes.Buffer // swaps the default logger: not parallel (see TestPasswordNeverLogged)
	previous := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	t.Cleanup(func() { slog.SetDefault(previous) })
	t.Run("requests", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			s := graphtest.New(t, db, graph.Config{})
			_, token := s.Tenant(t, "mistakes")
			tests := []struct {
				name, query string
				vars        map[string]any
				field       string
			}{
				{"bad cursor", `{ conversations(after: "nope") { totalCount } }`, nil, "after"},
				{"bad cursor in a variable", `query($c: Cursor) { conversations(after: $c) { totalCount } }`, map[string]any{"c": "nope"}, "after"},
				{"bad time", `{ conversations(where: {createdAtGT: "yesterday"}) { totalCount } }`, nil, "where.createdAtGT"},
				{"bad time in a variable", `query($t: Time) { conversations(where: {createdAtGT: $t}) { totalCount } }`, map[string]any{"t": "yesterday"}, "where.createdAtGT"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := s.Do(t, token, tt.query, tt.vars)
					require.Equal(t, []string{"INVALID_INPUT"}, r.Codes(), "%s", r.Body)
					require.Equal(t, tt.field, r.Errors[0].Extensions["field"], "%s", r.Body)
				})
			}
			r := s.Do(t, token, `query($f: ConversationOrderField!) { conversations(orderBy: {field: $f}) { totalCount } }`, map[string]any{"f": "NOPE"})
			require.Equal(t, []string{"GRAPHQL_VALIDATION_FAILED"}, r.Codes(), "an unknown enum: %s", r.Body)
		})
	})
	require.Empty(t, logs.String(), "client mistakes are not logged at WARN or ERROR")
}
