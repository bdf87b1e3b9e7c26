package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

const loginMutation = `mutation($e: String!, $p: String!) {
  login(email: $e, password: $p) { accessToken refreshToken agent { id name } }
}`

type grant struct {
	AccessToken  string
	RefreshToken string
	Agent        struct{ ID, Name string }
}

func TestLogin(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		_, token := s.Tenant(t, "acme")

		r := s.Do(t, token, `{ viewer { kind roles tenant { slug } agent { email } } }`, nil)
		r.RequireOK(t)
		require.JSONEq(t, `{"viewer":{"kind":"AGENT","roles":["owner"],"tenant":{"slug":"acme"},"agent":{"email":"owner@acme.test"}}}`, string(r.Data))

		r = s.Do(t, "", loginMutation, map[string]any{"e": "owner@acme.test", "p": "wrong password"})
		r.RequireCode(t, "UNAUTHENTICATED")
		r = s.Do(t, "", loginMutation, map[string]any{"e": "nobody@acme.test", "p": graphtest.Password})
		r.RequireCode(t, "UNAUTHENTICATED")
		// The email is matched without regard to case or surrounding space.
		r = s.Do(t, "", loginMutation, map[string]any{"e": " Owner@ACME.test ", "p": graphtest.Password})
		r.RequireOK(t)
	})
}

func TestAnonymousCallers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		s.Tenant(t, "acme")

		s.Do(t, "", `{ __typename }`, nil).RequireOK(t)
		s.Do(t, "", `{ __schema { queryType { name } } }`, nil).RequireOK(t)
		for _, q := range []string{
			`{ viewer { kind } }`,
			`{ conversations(first: 1) { totalCount } }`,
			`{ node(id: "cnv_01JD0000000000000000000000") { id } }`,
			`mutation { createTeam(input: {name: "x"}) { id } }`,
			`mutation { logout }`,
		} {
			r := s.Do(t, "", q, nil)
			require.NotEmpty(t, r.Errors, q)
			require.Equal(t, "UNAUTHENTICATED", r.Errors[0].Code(), "%s: %s", q, r.Body)
		}
		r := s.Do(t, "not-a-token", `{ __typename }`, nil)
		require.Equal(t, 401, r.Status)
		r.RequireCode(t, "UNAUTHENTICATED")
	})
}

func TestIntrospectionSwitch(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, "sqlite3")
	cfg := graph.DefaultConfig
	cfg.Introspection = false
	s := graphtest.New(t, db, cfg)
	_, token := s.Tenant(t, "acme")
	s.Do(t, token, `{ __schema { queryType { name } } }`, nil).RequireCode(t, "FORBIDDEN")
	s.Do(t, token, `{ __typename }`, nil).RequireOK(t)
}

func TestRefreshRotatesAndDetectsReuse(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		s.Tenant(t, "acme")
		var first struct{ Login grant }
		r := s.Do(t, "", loginMutation, map[string]any{"e": "owner@acme.test", "p": graphtest.Password})
		r.RequireOK(t)
		r.Decode(t, &first)

		const refresh = `mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken } }`
		var second struct{ Refresh grant }
		r = s.Do(t, "", refresh, map[string]any{"t": first.Login.RefreshToken})
		r.RequireOK(t)
		r.Decode(t, &second)
		require.NotEqual(t, first.Login.RefreshToken, second.Refresh.RefreshToken)
		s.Do(t, second.Refresh.AccessToken, `{ viewer { kind } }`, nil).RequireOK(t)

		// The rotated-out token is refused and takes the session down with it.
		s.Do(t, "", refresh, map[string]any{"t": first.Login.RefreshToken}).RequireCode(t, "UNAUTHENTICATED")
		s.Do(t, "", refresh, map[string]any{"t": second.Refresh.RefreshToken}).RequireCode(t, "UNAUTHENTICATED")
	})
}

func TestLogoutEndsTheSession(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		s.Tenant(t, "acme")
		var g struct{ Login grant }
		r := s.Do(t, "", loginMutation, map[string]any{"e": "owner@acme.test", "p": graphtest.Password})
		r.Decode(t, &g)
		s.Do(t, g.Login.AccessToken, `mutation { logout }`, nil).RequireOK(t)
		s.Do(t, "", `mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }`,
			map[string]any{"t": g.Login.RefreshToken}).RequireCode(t, "UNAUTHENTICATED")
	})
}

func TestDisabledAgentCannotLoginOrRefresh(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		_, owner := s.Tenant(t, "acme")
		var created struct{ CreateAgent struct{ ID string } }
		r := s.Do(t, owner, `mutation($p: String!) { createAgent(input: {name: "Ann", email: "ann@acme.test", password: $p, employeeCode: "103"}) { id } }`,
			map[string]any{"p": graphtest.Password})
		r.RequireOK(t)
		r.Decode(t, &created)

		var g struct{ Login grant }
		r = s.Do(t, "", loginMutation, map[string]any{"e": "ann@acme.test", "p": graphtest.Password})
		r.RequireOK(t)
		r.Decode(t, &g)

		s.Do(t, owner, `mutation($id: ID!) { disableAgent(id: $id) { disabledAt } }`, map[string]any{"id": created.CreateAgent.ID}).RequireOK(t)
		s.Do(t, "", loginMutation, map[string]any{"e": "ann@acme.test", "p": graphtest.Password}).RequireCode(t, "UNAUTHENTICATED")
		s.Do(t, "", `mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }`,
			map[string]any{"t": g.Login.RefreshToken}).RequireCode(t, "UNAUTHENTICATED")

		s.Do(t, owner, `mutation($id: ID!) { enableAgent(id: $id) { disabledAt } }`, map[string]any{"id": created.CreateAgent.ID}).RequireOK(t)
		s.Do(t, "", loginMutation, map[string]any{"e": "ann@acme.test", "p": graphtest.Password}).RequireOK(t)
	})
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		_, owner := s.Tenant(t, "acme")
		var created struct {
			CreateAPIKey struct {
				Secret string
				APIKey struct{ ID, Prefix string }
			}
		}
		r := s.Do(t, owner, `mutation { createAPIKey(input: {name: "CRM", role: "partner"}) { secret apiKey { id prefix } } }`, nil)
		r.RequireOK(t)
		r.Decode(t, &created)
		key := created.CreateAPIKey
		require.True(t, len(key.Secret) > 40 && key.Secret[:3] == "sk_", key.Secret)
		require.Equal(t, key.Secret[:len(key.APIKey.Prefix)], key.APIKey.Prefix)

		r = s.Do(t, key.Secret, `{ viewer { kind roles agent { id } tenant { slug } } }`, nil)
		r.RequireOK(t)
		require.JSONEq(t, `{"viewer":{"kind":"API_KEY","roles":["partner"],"agent":null,"tenant":{"slug":"acme"}}}`, string(r.Data))

		// The secret is not stored: the key list shows only the prefix.
		r = s.Do(t, owner, `{ node(id: "`+key.APIKey.ID+`") { ... on APIKey { prefix name } } }`, nil)
		r.RequireOK(t)
		require.NotContains(t, string(r.Body), key.Secret)

		s.Do(t, owner, `mutation($id: ID!) { revokeAPIKey(id: $id) { revokedAt } }`, map[string]any{"id": key.APIKey.ID}).RequireOK(t)
		r = s.Do(t, key.Secret, `{ viewer { kind } }`, nil)
		require.Equal(t, 401, r.Status)
		r.RequireCode(t, "UNAUTHENTICATED")

		s.Do(t, owner, `mutation { createAPIKey(input: {name: "x", role: "wizard"}) { secret } }`, nil).RequireCode(t, "INVALID_INPUT")
	})
}
