package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Two transactions update two tenants in opposite orders: Postgres picks one
// as a deadlock victim. With InTxRetry both commit, the victim in a second
// attempt; with InTx one of them fails with 40P01.
func TestInTxRetryRunsADeadlockVictimAgain(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, dialect.Postgres) // skips without TEST_DATABASE_URL
	ctx := viewer.Platform(t.Context())
	a := db.Client.Tenant.Create().SetName("A").SetSlug("alpha").SaveX(ctx)
	b := db.Client.Tenant.Create().SetName("B").SetSlug("bravo").SaveX(ctx)

	run := func(inTx func(context.Context, *ent.Client, func(context.Context, *ent.Tx) (*ent.Tenant, error)) (*ent.Tenant, error)) (errs []error, attempts int32) {
		var (
			wg       sync.WaitGroup
			firsts   sync.WaitGroup // both hold their first row
			tries    atomic.Int32
			mu       sync.Mutex
			outcomes []error
		)
		firsts.Add(2)
		for i, order := range [][2]string{{a.ID, b.ID}, {b.ID, a.ID}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var once sync.Once
				_, err := inTx(ctx, db.Client, func(ctx context.Context, tx *ent.Tx) (*ent.Tenant, error) {
					tries.Add(1)
					first, err := tx.Tenant.UpdateOneID(order[0]).SetName("first " + string(rune('0'+i))).Save(ctx)
					if err != nil {
						return nil, err
					}
					once.Do(func() { firsts.Done(); firsts.Wait() }) // only the first attempt meets the other
					if _, err := tx.Tenant.UpdateOneID(order[1]).SetName("second " + string(rune('0'+i))).Save(ctx); err != nil {
						return nil, err
					}
					return first, nil
				})
				mu.Lock()
				outcomes = append(outcomes, err)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return outcomes, tries.Load()
	}

	errs, tries := run(store.InTx[*ent.Tenant])
	require.Len(t, errs, 2)
	failed := 0
	for _, err := range errs {
		if err != nil {
			require.True(t, store.IsDeadlock(err), "the only failure is the deadlock: %v", err)
			failed++
		}
	}
	require.Equal(t, 1, failed, "without retry one transaction is the victim")
	require.Equal(t, int32(2), tries)

	errs, tries = run(store.InTxRetry[*ent.Tenant])
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int32(3), tries, "the victim ran twice")
}
