// Package bulk writes many rows in few statements: multi-row INSERTs whose
// integers and plain identifiers are written as SQL literals, the rest as
// bound parameters.
//
// Why literals: modernc.org/sqlite matches each "$N" parameter against
// every argument, formatting each argument's ordinal as it goes
// (conn.bind), so a statement with p parameters costs O(p²) allocations: a
// 400-row INSERT of 17 columns took seconds under load. Integers, and
// strings of letters, digits and a few punctuation marks (ids, kinds), are
// written inline instead: the same SQL on both dialects, with nothing a
// quote could escape from.
package bulk

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Execer runs a statement: *sql.DB, *sql.Tx, or an ent client (sql/execquery).
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// maxStatement bounds a statement's length (and its parameters, at most
// one per value), well under SQLite's and Postgres' limits.
const maxStatement = 256 << 10

// maxParams bounds the parameters of a statement: under 100, modernc formats
// no ordinal (strconv.Itoa has them ready), so its quadratic matching stays
// cheap.
const maxParams = 90

// Insert writes rows into table, given with its column list ("t (a, b)"),
// in as few statements as fit, each ending with suffix (an ON CONFLICT
// clause, or ""). Every row has the same number of values.
func Insert(ctx context.Context, db Execer, table string, rows [][]any, suffix string) error {
	for len(rows) > 0 {
		var q strings.Builder
		var args []any
		q.WriteString("INSERT INTO " + table + " VALUES ")
		n := 0
		for n < len(rows) && q.Len() < maxStatement && len(args) < maxParams {
			if n > 0 {
				q.WriteString(", ")
			}
			for j, v := range rows[n] {
				if j == 0 {
					q.WriteString("(")
				} else {
					q.WriteString(", ")
				}
				q.WriteString(value(v, &args))
			}
			q.WriteString(")")
			n++
		}
		q.WriteString(suffix)
		if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("bulk insert into %s: %w", strings.Fields(table)[0], err)
		}
		rows = rows[n:]
	}
	return nil
}

// value is v as SQL: a literal when it is an integer, nil or a plain
// string, else the next parameter.
func value(v any, args *[]any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case string:
		if plain(x) {
			return "'" + x + "'"
		}
	case *string:
		if x == nil {
			return "NULL"
		}
		return value(*x, args)
	}
	*args = append(*args, v)
	return "$" + strconv.Itoa(len(*args))
}

// plain: letters, digits, space and "_-.:+" only, nothing a quote or a
// backslash could change the meaning of.
func plain(s string) bool {
	if len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == ' ', c == '_', c == '-', c == '.', c == ':', c == '+', c == '/', c == '[', c == ']', c == '{', c == '}':
		default:
			return false
		}
	}
	return true
}
