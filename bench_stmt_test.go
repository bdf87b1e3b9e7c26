package main

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"entgo.io/ent/dialect"
)

// stmtCounter counts the statements the ent client sends by kind (verb and
// table) and the transactions begun, without keeping the statements: a
// benchmark of 10,000 messages sends hundreds of thousands.
type stmtCounter struct {
	dialect.Driver

	mu     sync.Mutex
	counts map[string]int
}

func (c *stmtCounter) wrap(drv dialect.Driver) dialect.Driver {
	c.Driver, c.counts = drv, map[string]int{}
	return c
}

// kind is a statement's verb and first table: "UPDATE messages".
func kind(query string) string {
	q := strings.ReplaceAll(strings.ReplaceAll(query, "`", ""), `"`, "")
	verb, _, _ := strings.Cut(strings.TrimSpace(q), " ")
	verb = strings.ToUpper(verb)
	table := ""
	switch verb {
	case "INSERT":
		table = wordAfter(q, "INTO ")
	case "UPDATE":
		table = wordAfter(q, "UPDATE ")
	case "SELECT", "DELETE", "WITH":
		table = wordAfter(q, "FROM ")
	}
	return verb + " " + table
}

func wordAfter(q, marker string) string {
	i := strings.Index(strings.ToUpper(q), marker)
	if i < 0 {
		return ""
	}
	w, _, _ := strings.Cut(strings.TrimSpace(q[i+len(marker):]), " ")
	return strings.Trim(w, "(")
}

func (c *stmtCounter) record(query string) {
	k := kind(query)
	c.mu.Lock()
	c.counts[k]++
	c.mu.Unlock()
}

// reset returns the counts so far and starts again from zero.
func (c *stmtCounter) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.counts
	c.counts = map[string]int{}
	return out
}

// summary is the counts per message, largest first.
func summary(counts map[string]int, messages int) string {
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b string) int { return counts[b] - counts[a] })
	total := 0
	var parts []string
	for _, k := range keys {
		total += counts[k]
		if k != "BEGIN " {
			parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(counts[k])/float64(messages)))
		}
	}
	total -= counts["BEGIN "]
	return fmt.Sprintf("%.2f statements/msg (+%.2f transactions): %s", float64(total)/float64(messages),
		float64(counts["BEGIN "])/float64(messages), strings.Join(parts, ", "))
}

func (c *stmtCounter) Exec(ctx context.Context, query string, args, v any) error {
	c.record(query)
	return c.Driver.Exec(ctx, query, args, v)
}

func (c *stmtCounter) Query(ctx context.Context, query string, args, v any) error {
	c.record(query)
	return c.Driver.Query(ctx, query, args, v)
}

func (c *stmtCounter) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := c.Driver.Tx(ctx)
	if err != nil {
		return nil, err
	}
	c.record("BEGIN")
	return &countedTx{Tx: tx, c: c}, nil
}

func (c *stmtCounter) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	tx, err := c.Driver.(interface {
		BeginTx(context.Context, *sql.TxOptions) (dialect.Tx, error)
	}).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.record("BEGIN")
	return &countedTx{Tx: tx, c: c}, nil
}

func (c *stmtCounter) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.record(query)
	return c.Driver.(execQuerier).ExecContext(ctx, query, args...)
}

func (c *stmtCounter) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.record(query)
	return c.Driver.(execQuerier).QueryContext(ctx, query, args...)
}

type countedTx struct {
	dialect.Tx
	c *stmtCounter
}

func (tx *countedTx) Exec(ctx context.Context, query string, args, v any) error {
	tx.c.record(query)
	return tx.Tx.Exec(ctx, query, args, v)
}

func (tx *countedTx) Query(ctx context.Context, query string, args, v any) error {
	tx.c.record(query)
	return tx.Tx.Query(ctx, query, args, v)
}

func (tx *countedTx) Unwrap() dialect.Tx { return tx.Tx }

func (tx *countedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.c.record(query)
	return tx.Tx.(execQuerier).ExecContext(ctx, query, args...)
}

func (tx *countedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx.c.record(query)
	return tx.Tx.(execQuerier).QueryContext(ctx, query, args...)
}

type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}
