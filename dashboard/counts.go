// Package dashboard keeps the live dashboard's conversation counters: the
// open, unassigned and waiting (the customer wrote last) conversations per
// tenant, number and assignee. Triggers on conversations (migration 0031)
// append a delta whenever a conversation enters, leaves or moves between
// counts, whatever wrote it; Fold moves the deltas into dashboard_counts;
// Read sums the rows and the pending deltas in one statement, within the
// viewer's row scope. A dashboard then costs one indexed read of a few
// rows per tenant, not a scan of the open conversations.
package dashboard

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/schema"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/bulk"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Counts are the conversation counters of a dashboard.
type Counts struct {
	Open, Unassigned, Waiting int
	// OpenByAgent is the open conversations per assignee.
	OpenByAgent map[string]int
}

type key struct{ tenant, number, assignee string }

type figures struct{ open, unassigned, waiting int64 }

// Read sums the counters of the tenant of the viewer of ctx within their
// row scope: the predicate the privacy rules put on conversations
// (schema.ConversationScope), applied to the counters' rows, which carry
// the two columns it reads (number_id and assignee_id, empty for nobody,
// which no agent's id equals). The statement is built with Postgres's $n
// placeholders, which SQLite reads too (as routing's claim).
func Read(ctx context.Context, db Querier) (Counts, error) {
	out := Counts{OpenByAgent: map[string]int{}}
	v := viewer.FromContext(ctx)
	if v == nil {
		return out, errors.New("dashboard: counts: no viewer")
	}
	scope := schema.ConversationScope(ctx)
	b := entsql.Dialect(dialect.Postgres)
	rowsOf := func(table string) *entsql.Selector {
		sel := b.Select("assignee_id", "open", "unassigned", "waiting").From(b.Table(table))
		sel.Where(entsql.EQ(sel.C("tenant_id"), v.TenantID))
		if scope != nil {
			scope(sel)
		}
		return sel
	}
	union := rowsOf("dashboard_counts").UnionAll(rowsOf("dashboard_deltas")).As("c")
	query, args := b.Select("assignee_id", entsql.Sum("open"), entsql.Sum("unassigned"), entsql.Sum("waiting")).
		From(union).GroupBy("assignee_id").Query()
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return out, fmt.Errorf("dashboard: counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var assignee string
		var f figures
		if err := rows.Scan(&assignee, &f.open, &f.unassigned, &f.waiting); err != nil {
			return out, fmt.Errorf("dashboard: counts: %w", err)
		}
		out.Open += int(f.open)
		out.Unassigned += int(f.unassigned)
		out.Waiting += int(f.waiting)
		if assignee != "" && f.open != 0 {
			out.OpenByAgent[assignee] = int(f.open)
		}
	}
	return out, rows.Err()
}

// Querier runs SQL: an ent client (its driver) or a transaction's.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// FoldBatch is how many deltas one Fold takes at most.
const FoldBatch = 5000

// Fold moves up to limit deltas into dashboard_counts in one transaction
// (on Postgres skipping those another instance is folding) and returns how
// many it moved.
func Fold(ctx context.Context, client *ent.Client, dialectName string, limit int) (int, error) {
	lock := ""
	if dialectName == dialect.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	moved := 0
	err := store.WithTx(ctx, client, func(ctx context.Context, tx *ent.Tx) error {
		var err error
		moved, err = fold(ctx, tx, lock, limit)
		return err
	})
	return moved, err
}

func fold(ctx context.Context, tx *ent.Tx, lock string, limit int) (int, error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM dashboard_deltas WHERE id IN (SELECT id FROM dashboard_deltas ORDER BY id LIMIT $1`+lock+`)
RETURNING tenant_id, number_id, assignee_id, open, unassigned, waiting`, limit)
	if err != nil {
		return 0, fmt.Errorf("dashboard: fold: %w", err)
	}
	sums := map[key]*figures{}
	moved := 0
	for rows.Next() {
		var k key
		var f figures
		if err := rows.Scan(&k.tenant, &k.number, &k.assignee, &f.open, &f.unassigned, &f.waiting); err != nil {
			rows.Close()
			return 0, fmt.Errorf("dashboard: fold: %w", err)
		}
		s := sums[k]
		if s == nil {
			s = &figures{}
			sums[k] = s
		}
		s.open, s.unassigned, s.waiting = s.open+f.open, s.unassigned+f.unassigned, s.waiting+f.waiting
		moved++
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("dashboard: fold: %w", err)
	}
	keys := make([]key, 0, len(sums))
	for k, f := range sums {
		if *f != (figures{}) {
			keys = append(keys, k)
		}
	}
	// One order for every folder: two instances wait for each other on a
	// shared row instead of deadlocking.
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(strings.Compare(a.tenant, b.tenant), strings.Compare(a.number, b.number), strings.Compare(a.assignee, b.assignee))
	})
	out := make([][]any, len(keys))
	for i, k := range keys {
		f := sums[k]
		out[i] = []any{k.tenant, k.number, k.assignee, f.open, f.unassigned, f.waiting}
	}
	if err := bulk.Insert(ctx, tx.Client(), "dashboard_counts (tenant_id, number_id, assignee_id, open, unassigned, waiting)", out,
		` ON CONFLICT (tenant_id, number_id, assignee_id) DO UPDATE SET open = dashboard_counts.open + excluded.open,
unassigned = dashboard_counts.unassigned + excluded.unassigned, waiting = dashboard_counts.waiting + excluded.waiting`); err != nil {
		return 0, fmt.Errorf("dashboard: fold: %w", err)
	}
	// Rows that count nothing any more (an agent's last conversation
	// resolved) go: the table holds what is open, not history.
	if len(keys) == 0 {
		return moved, nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_counts WHERE open = 0 AND unassigned = 0 AND waiting = 0`); err != nil {
		return 0, fmt.Errorf("dashboard: fold: %w", err)
	}
	return moved, nil
}
