package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/lib/pq"

	"github.com/switchboard-dev/switchboard/ent"
)

// WithTx runs fn in a transaction and commits it if fn returns nil. When ctx
// already carries a transaction (ent.TxFromContext), fn joins it instead:
// with SQLite's single writer a nested transaction would wait on itself.
// Inside fn use tx.Client(), never the root client.
func WithTx(ctx context.Context, client *ent.Client, fn func(ctx context.Context, tx *ent.Tx) error) error {
	if tx := ent.TxFromContext(ctx); tx != nil {
		return fn(ctx, tx)
	}
	tx, err := client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	ctx = ent.NewTxContext(ctx, tx)
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(ctx, tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// InTx runs fn in a transaction like WithTx and returns its result. An entity
// made in a transaction keeps the transaction's driver, which is closed once
// committed; InTx unwraps the result onto the client's driver so that the
// caller (a resolver loading its edges) can go on reading it. When fn joins an
// enclosing transaction the result is left as is: that transaction is still
// open and must stay the one that reads.
func InTx[T interface{ Unwrap() T }](ctx context.Context, client *ent.Client, fn func(ctx context.Context, tx *ent.Tx) (T, error)) (T, error) {
	var out T
	joined := ent.TxFromContext(ctx) != nil
	err := WithTx(ctx, client, func(ctx context.Context, tx *ent.Tx) error {
		var err error
		out, err = fn(ctx, tx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	if joined {
		return out, nil
	}
	return out.Unwrap(), nil
}

// deadlockAttempts is how many times InTxRetry runs a transaction that
// Postgres keeps picking as a deadlock victim.
const deadlockAttempts = 3

// IsDeadlock reports whether err is Postgres rolling the transaction back as
// a deadlock victim (SQLSTATE 40P01). Two transactions that upsert the same
// report rows in different orders can deadlock (report facts are written
// with the change, so a tenant's hot rows are locked mid-transaction).
func IsDeadlock(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "40P01"
}

// IsQueryCanceled reports whether err is Postgres cancelling a statement
// (SQLSTATE 57014): lib/pq asks it to when the statement's context ends
// ("canceling statement due to user request") and returns that error, not
// the context's; a statement_timeout gives it too.
func IsQueryCanceled(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "57014"
}

// InTxRetry is InTx that runs fn again, in a new transaction, when Postgres
// picked its transaction as a deadlock victim: the whole transaction was
// rolled back, so running it again loses nothing and doubles nothing, as
// long as fn acts on the database alone (its River jobs, audit records and
// published events are part of the transaction). For user-facing writes
// that race with ingest on the same tenant (sendMessage). A transaction
// joined from the context is not retried here: its owner decides.
func InTxRetry[T interface{ Unwrap() T }](ctx context.Context, client *ent.Client, fn func(ctx context.Context, tx *ent.Tx) (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		out, err := InTx(ctx, client, fn)
		if err == nil || attempt == deadlockAttempts || ent.TxFromContext(ctx) != nil || !IsDeadlock(err) || ctx.Err() != nil {
			return out, err
		}
		// Let the survivor finish first. A row lock is not handed to the
		// transaction that waited for it: at once, the victim's new attempt
		// can take the survivor's next row again and deadlock with it again
		// (TestInTxRetryRunsADeadlockVictimAgain did, one run in eight).
		select {
		case <-time.After(deadlockBackoff * time.Duration(attempt) * time.Duration(1+rand.IntN(2))):
		case <-ctx.Done():
			return out, err
		}
	}
}

// deadlockBackoff is the first wait before a deadlock victim runs again.
const deadlockBackoff = 10 * time.Millisecond
