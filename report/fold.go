package report

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"entgo.io/ent/dialect"

	"github.com/switchboard-dev/switchboard/ent"
)

// The hooks do not add to report_counts and report_histogram_packs: a
// tenant's rows of the hour and of the day are shared by all its messages,
// and a row locked until the end of each message's transaction made
// Postgres take a tenant's messages one at a time (and deadlock two writes
// that locked it and a conversation in different orders). They append
// report_deltas rows instead, which lock nothing shared. Fold moves the
// deltas into the rows, many facts per row in one statement, and every
// instance runs it every second (app). Reports read the rows and the
// deltas not yet folded in one statement (readCountRows,
// readHistograms), so a report is exact whether or not the folder has run.

// FoldBatch is how many deltas one Fold takes at most.
const FoldBatch = 5000

// Fold moves up to limit deltas into report_counts and
// report_histogram_packs in one transaction: it deletes them (on Postgres,
// skipping the ones another instance is folding) and adds what they sum
// to. It returns how many it moved.
func Fold(ctx context.Context, client *ent.Client, dialectName string, limit int) (int, error) {
	lock := ""
	if dialectName == dialect.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	// Not store.WithTx: store imports ent/runtime, whose hooks import this
	// package.
	tx, err := client.Tx(ctx)
	if err != nil {
		return 0, fmt.Errorf("report: fold: %w", err)
	}
	moved, err := fold(ctx, tx, lock, limit)
	if err != nil {
		return 0, errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("report: fold: %w", err)
	}
	return moved, nil
}

func fold(ctx context.Context, tx *ent.Tx, lock string, limit int) (int, error) {
	moved := 0
	rows, err := tx.QueryContext(ctx, `DELETE FROM report_deltas WHERE id IN (SELECT id FROM report_deltas ORDER BY id LIMIT $1`+lock+`)
RETURNING `+deltaColumns, limit)
	if err != nil {
		return 0, fmt.Errorf("report: fold: %w", err)
	}
	builders := map[string]*Builder{}
	for rows.Next() {
		var tenantID, kind string
		var hour, day, n int64
		var d dims
		var c counts
		var bin, businessBin int
		dst := []any{&tenantID, &hour, &day, &d.number, &d.team, &d.agent}
		for _, p := range c.fields() {
			dst = append(dst, p)
		}
		if err := rows.Scan(append(dst, &kind, &bin, &businessBin, &n)...); err != nil {
			rows.Close()
			return 0, fmt.Errorf("report: fold: %w", err)
		}
		b := builders[tenantID]
		if b == nil {
			b = newBuilder(tenantClock{id: tenantID}) // the deltas carry their hour and day: no zone needed
			builders[tenantID] = b
		}
		b.addCountsAt(hour, day, d, c)
		if kind != "" {
			b.addBins(day, d, kind, bin, businessBin, n)
		}
		moved++
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("report: fold: %w", err)
	}
	tenants := make([]string, 0, len(builders))
	for id := range builders {
		tenants = append(tenants, id)
	}
	slices.Sort(tenants) // one order for every folder (see Builder.Write)
	for _, id := range tenants {
		if err := builders[id].Write(ctx, tx.Client()); err != nil {
			return 0, err
		}
	}
	return moved, nil
}

// FoldAll folds until no delta is left (tests; a final fold).
func FoldAll(ctx context.Context, client *ent.Client, dialectName string) error {
	for {
		n, err := Fold(ctx, client, dialectName, FoldBatch)
		if err != nil || n == 0 {
			return err
		}
	}
}
