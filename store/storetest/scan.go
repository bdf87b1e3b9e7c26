package storetest

import (
	"context"
	"fmt"

	"entgo.io/ent/dialect"

	"github.com/switchboard-dev/switchboard/store"
)

// FindText lists every "table.column" of db's schema where some row's value,
// read as text, contains needle: every table, every column, whatever its type
// (bytea and JSON included). Erasure tests use it to prove a person is gone.
func FindText(ctx context.Context, db *store.DB, needle string) ([]string, error) {
	type col struct{ table, name, typ string }
	list := `SELECT m.name, p.name, p.type FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' ORDER BY m.name, p.cid`
	if db.Dialect == dialect.Postgres {
		list = `SELECT table_name, column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`
	}
	rows, err := db.SQL.QueryContext(ctx, list)
	if err != nil {
		return nil, err
	}
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.table, &c.name, &c.typ); err != nil {
			rows.Close()
			return nil, err
		}
		cols = append(cols, c)
	}
	rows.Close()
	if len(cols) == 0 {
		return nil, fmt.Errorf("storetest: no columns found")
	}
	var hits []string
	for _, c := range cols {
		expr := fmt.Sprintf(`CAST(%q AS TEXT)`, c.name)
		arg := "?"
		if db.Dialect == dialect.Postgres {
			arg = "$1"
			if c.typ == "bytea" {
				expr = fmt.Sprintf(`encode(%q, 'escape')`, c.name)
			} else {
				expr = fmt.Sprintf(`%q::text`, c.name)
			}
		}
		var n int
		q := fmt.Sprintf(`SELECT count(*) FROM %q WHERE %s LIKE '%%' || %s || '%%'`, c.table, expr, arg)
		if err := db.SQL.QueryRowContext(ctx, q, needle).Scan(&n); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", c.table, c.name, err)
		}
		if n > 0 {
			hits = append(hits, c.table+"."+c.name)
		}
	}
	return hits, nil
}
