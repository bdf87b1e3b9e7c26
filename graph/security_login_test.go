package graph_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// loginFrom signs in from the client address addr and returns the answer
// with its Retry-After header.
func loginFrom(t *testing.T, s *graphtest.Server, addr, email, password string) (graphtest.Response, string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": loginMutation, "variables": map[string]any{"e": email, "p": password}})
	require.NoError(t, err)
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = addr + ":40000"
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, req)
	r := graphtest.Response{Status: rec.Code, Body: rec.Body.Bytes()}
	require.NoError(t, json.Unmarshal(r.Body, &r), "%s", r.Body)
	return r, rec.Header().Get("Retry-After")
}

// High 5: failed sign-ins are throttled per account and per client address,
// with waits that double up to a lockout, RATE_LIMITED and Retry-After; the
// counters live in the database, so a second instance refuses too; failures
// are audited aggregated.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := clock.NewFake(time.Now())
		s := graphtest.New(t, db, graph.Config{}, graphtest.WithApp(app.WithClock(clk)))
		other := graphtest.New(t, db, graph.Config{}, graphtest.WithApp(app.WithClock(clk))) // a second instance
		w := seedWorld(t, s, "alpha")
		const owner, addr = "owner@alpha.test", "198.51.100.7"

		for i := range 5 { // the free attempts
			r, _ := loginFrom(t, s, addr, owner, "guess "+strconv.Itoa(i))
			r.RequireCode(t, "UNAUTHENTICATED")
		}
		for _, srv := range []*graphtest.Server{s, other} {
			// Locked, on every instance, even with the right password.
			r, retry := loginFrom(t, srv, "203.0.113.9", owner, graphtest.Password)
			r.RequireCode(t, "RATE_LIMITED")
			require.Equal(t, "1", retry)
			require.EqualValues(t, 1, r.Errors[0].Extensions["retryAfter"])
		}
		clk.Advance(time.Second)
		r, _ := loginFrom(t, s, addr, owner, "guess 6")
		r.RequireCode(t, "UNAUTHENTICATED")
		r, retry := loginFrom(t, other, addr, owner, "guess 7")
		r.RequireCode(t, "RATE_LIMITED")
		require.Equal(t, "2", retry, "the wait doubles")
		clk.Advance(2 * time.Second)
		r, _ = loginFrom(t, other, addr, owner, "guess 8")
		r.RequireCode(t, "UNAUTHENTICATED")
		// Seven wrong passwords checked so far, one audit record: failures are
		// aggregated, the first recorded at once.
		require.Equal(t, 1, countAudit(t, s, w.token, "auth.login_failed"))
		clk.Advance(time.Hour) // the lockout is temporary; the right password starts the account afresh
		r, _ = loginFrom(t, s, addr, owner, graphtest.Password)
		r.RequireOK(t)
		var fresh struct{ Login grant }
		r.Decode(t, &fresh) // w.token expired meanwhile
		// A quarter of an hour later the next record counts what happened meanwhile.
		r, _ = loginFrom(t, s, addr, owner, "one more guess")
		r.RequireCode(t, "UNAUTHENTICATED")
		require.Equal(t, 2, countAudit(t, s, fresh.Login.AccessToken, "auth.login_failed"))
		require.Contains(t, auditActions(t, s, fresh.Login.AccessToken), "7 failed sign-in(s)")

		// Per address: many accounts guessed from one address lock the
		// address, whatever email comes next.
		clk.Advance(2 * time.Hour)
		const spray = "192.0.2.200"
		for i := range 20 {
			r, _ := loginFrom(t, s, spray, "person"+strconv.Itoa(i)+"@alpha.test", "guess")
			r.RequireCode(t, "UNAUTHENTICATED")
		}
		r, retry = loginFrom(t, other, spray, "agent@alpha.test", graphtest.Password)
		r.RequireCode(t, "RATE_LIMITED")
		require.NotEmpty(t, retry)
		r, _ = loginFrom(t, other, "192.0.2.201", "agent@alpha.test", graphtest.Password)
		r.RequireOK(t)
	})
}

func countAudit(t *testing.T, s *graphtest.Server, token, action string) int {
	t.Helper()
	r := s.Do(t, token, `query($a: String!) { auditEvents(where: {action: $a}) { totalCount } }`, map[string]any{"a": action})
	r.RequireOK(t)
	var out struct{ AuditEvents struct{ TotalCount int } }
	r.Decode(t, &out)
	return out.AuditEvents.TotalCount
}

// High 5: one operation carries at most one password or token check, so
// aliases and fragments cannot pack guesses past the throttle.
func TestOneCredentialCheckPerOperation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		s.Tenant(t, "alpha")
		for name, q := range map[string]string{
			"aliases":  `mutation { a: login(email: "owner@alpha.test", password: "guess 1") { accessToken } b: login(email: "owner@alpha.test", password: "guess 2") { accessToken } }`,
			"mixed":    `mutation { login(email: "owner@alpha.test", password: "guess 1") { accessToken } refresh(refreshToken: "rt_x") { accessToken } }`,
			"fragment": `mutation { ...F a: login(email: "owner@alpha.test", password: "guess 2") { accessToken } } fragment F on Mutation { login(email: "owner@alpha.test", password: "guess 1") { accessToken } }`,
			"reset":    `mutation { a: resetPassword(token: "pr_a", newPassword: "long enough pw") b: resetPassword(token: "pr_b", newPassword: "long enough pw") }`,
		} {
			t.Run(name, func(t *testing.T) {
				r := s.Do(t, "", q, nil)
				require.Len(t, r.Errors, 2, "%s", r.Body)
				for _, e := range r.Errors {
					require.Equal(t, "BAD_REQUEST", e.Code(), "%s", r.Body)
				}
			})
		}
		// Nothing was tried: the account is not locked.
		s.Login(t, "owner@alpha.test", graphtest.Password)
	})
}

// Low: reuse detection recognises every refresh token the session ever
// issued, not only the previous one.
func TestRefreshTokenFamily(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		s.Tenant(t, "alpha")
		r := s.Do(t, "", loginMutation, map[string]any{"e": "owner@alpha.test", "p": graphtest.Password})
		r.RequireOK(t)
		var login struct{ Login grant }
		r.Decode(t, &login)
		tokens := []string{login.Login.RefreshToken}
		refresh := `mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken } }`
		for range 3 {
			r := s.Do(t, "", refresh, map[string]any{"t": tokens[len(tokens)-1]})
			r.RequireOK(t)
			var out struct{ Refresh grant }
			r.Decode(t, &out)
			tokens = append(tokens, out.Refresh.RefreshToken)
		}
		// The first token, three rotations old, is a reuse: the session ends.
		r = s.Do(t, "", refresh, map[string]any{"t": tokens[0]})
		r.RequireCode(t, "UNAUTHENTICATED")
		require.Contains(t, r.Errors[0].Message, "reused")
		s.Do(t, "", refresh, map[string]any{"t": tokens[3]}).RequireCode(t, "UNAUTHENTICATED")
	})
}
