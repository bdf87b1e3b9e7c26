package auth_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/tenant"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestLoginCostsOnePasswordCheck: an unknown email, an email with one
// account and an email shared by five companies each cost exactly one
// password check per attempt, right password or wrong, with a company or
// without, so the time a login takes tells neither whether the email exists
// nor in how many companies (issue 9, low: login timing). Without a company,
// a shared email signs in to its oldest enabled account.
func TestLoginCostsOnePasswordCheck(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tokens, err := auth.NewTokens([]byte("0123456789abcdef0123456789abcdef"), time.Minute, clock.Real())
		require.NoError(t, err)
		svc := auth.NewService(db.Client, tokens, nil, nil, time.Hour, clock.Real())
		var checks atomic.Int64
		auth.CountPasswordChecks(svc, &checks)

		const shared = "shared@example.com"
		tenants := map[string]string{} // slug: tenant id
		create := func(slug, email, password string) {
			ten, _, err := tenant.Create(t.Context(), db.Client, tenant.Input{
				Name: "Company " + slug, Slug: slug, OwnerName: "Sam " + slug, OwnerEmail: email, OwnerPassword: password,
			})
			require.NoError(t, err)
			tenants[slug] = ten.ID
		}
		create("solo", "solo@example.com", "solo password 1")
		for i := 1; i <= 5; i++ {
			create(fmt.Sprintf("c%d", i), shared, fmt.Sprintf("company %d password", i))
		}

		login := func(email, password, slug string) (string, error) {
			t.Helper()
			before := checks.Load()
			g, err := svc.Login(t.Context(), email, password, slug, auth.ClientInfo{})
			require.Equal(t, int64(1), checks.Load()-before, "password checks for %s in %q", email, slug)
			if err != nil {
				return "", err
			}
			return g.Agent.TenantID, nil
		}
		refused := func(email, password, slug string) {
			t.Helper()
			_, err := login(email, password, slug)
			require.Equal(t, apperr.Unauthenticated, apperr.CodeOf(err), "%v", err)
			require.Equal(t, "invalid email or password", err.Error(), "the same answer whatever the email")
		}

		refused("nobody@example.com", "some password", "")
		refused("nobody@example.com", "some password", "c1")
		refused("solo@example.com", "wrong password", "")
		got, err := login("solo@example.com", "solo password 1", "")
		require.NoError(t, err)
		require.Equal(t, tenants["solo"], got)

		refused(shared, "wrong password", "")
		refused(shared, "wrong password", "c3")
		got, err = login(shared, "company 1 password", "")
		require.NoError(t, err)
		require.Equal(t, tenants["c1"], got, "without a company: the oldest account")
		refused(shared, "company 3 password", "")
		got, err = login(shared, "company 3 password", "c3")
		require.NoError(t, err)
		require.Equal(t, tenants["c3"], got, "the company chooses")
		refused(shared, "company 3 password", "c2")

		// The oldest account disabled: the oldest enabled one is checked.
		ctx := viewer.System(t.Context(), tenants["c1"])
		n, err := db.Client.Agent.Update().SetDisabledAt(time.Now()).Save(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		got, err = login(shared, "company 2 password", "")
		require.NoError(t, err)
		require.Equal(t, tenants["c2"], got)
		_, err = login(shared, "company 1 password", "c1")
		require.ErrorContains(t, err, "disabled")
	})
}
