package auth_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent/loginthrottle"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestPurgeThrottles: rows a guesser left for made-up emails go once they
// no longer count; a locked row, a recent one and one with failures still to
// audit stay.
func TestPurgeThrottles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		pctx := viewer.Platform(t.Context())
		mk := func(key string, age time.Duration, lockedFor time.Duration, unreported int) {
			c := db.Client.LoginThrottle.Create().SetKey(key).SetFailures(3).SetUnreported(unreported).
				SetCreatedAt(now.Add(-age)).SetUpdatedAt(now.Add(-age))
			if lockedFor != 0 {
				c.SetLockedUntil(now.Add(lockedFor))
			}
			require.NoError(t, c.Exec(pctx))
		}
		mk("acct:made-up-1@example.com", 48*time.Hour, 0, 0)
		mk("acct:made-up-2@example.com", 30*time.Hour, -29*time.Hour, 0) // its lock long over
		mk("addr:203.0.113.9", 25*time.Hour, 0, 0)
		mk("acct:recent@example.com", time.Hour, 0, 0)
		mk("acct:locked@example.com", 48*time.Hour, time.Hour, 0)
		mk("acct:owner@acme.test", 48*time.Hour, 0, 4) // failures not yet audited

		tokens, err := auth.NewTokens([]byte("0123456789abcdef0123456789abcdef"), time.Minute, clock.NewFake(now))
		require.NoError(t, err)
		svc := auth.NewService(db.Client, tokens, nil, nil, time.Hour, clock.NewFake(now))
		n, err := svc.PurgeThrottles(t.Context())
		require.NoError(t, err)
		require.Equal(t, 3, n)
		left, err := db.Client.LoginThrottle.Query().Order(loginthrottle.ByKey()).Select(loginthrottle.FieldKey).Strings(pctx)
		require.NoError(t, err)
		require.Equal(t, []string{"acct:locked@example.com", "acct:owner@acme.test", "acct:recent@example.com"}, left)
	})
}
