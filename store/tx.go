package store

import (
	"context"
	"fmt"

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
