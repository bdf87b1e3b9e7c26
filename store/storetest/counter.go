package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"

	"entgo.io/ent/dialect"
)

// Counter counts the statements the ent client sends, so a test can pin what
// an operation costs and an N+1 cannot creep back in unnoticed:
//
//	var counter storetest.Counter
//	db := storetest.Open(t, dialect.SQLite, store.WithDriver(counter.Wrap))
//	counter.Reset()
//	// … the operation …
//	require.Equal(t, 2, counter.Count(), strings.Join(counter.Statements(), "\n"))
//
// Exec and Query count, including those inside transactions; BEGIN, COMMIT
// and ROLLBACK do not. A Counter is safe for concurrent use.
type Counter struct {
	dialect.Driver

	mu         sync.Mutex
	statements []string
}

// Wrap makes c count the statements sent through drv; pass it to
// store.WithDriver.
func (c *Counter) Wrap(drv dialect.Driver) dialect.Driver {
	c.Driver = drv
	return c
}

// Exec counts and runs an Exec.
func (c *Counter) Exec(ctx context.Context, query string, args, v any) error {
	c.record(query)
	return c.Driver.Exec(ctx, query, args, v)
}

// Query counts and runs a Query.
func (c *Counter) Query(ctx context.Context, query string, args, v any) error {
	c.record(query)
	return c.Driver.Query(ctx, query, args, v)
}

// Tx starts a transaction whose statements count.
func (c *Counter) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := c.Driver.Tx(ctx)
	if err != nil {
		return nil, err
	}
	return &countedTx{Tx: tx, counter: c}, nil
}

// BeginTx starts a transaction with options, as ent.Client.BeginTx does,
// whose statements count.
func (c *Counter) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	beginner, ok := c.Driver.(interface {
		BeginTx(context.Context, *sql.TxOptions) (dialect.Tx, error)
	})
	if !ok {
		return nil, fmt.Errorf("storetest: driver %T does not support BeginTx", c.Driver)
	}
	tx, err := beginner.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &countedTx{Tx: tx, counter: c}, nil
}

// Count returns the number of statements since the last Reset.
func (c *Counter) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.statements)
}

// Statements returns the statements since the last Reset, for a failure
// message.
func (c *Counter) Statements() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.statements)
}

// Reset starts the count again from zero.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statements = nil
}

func (c *Counter) record(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statements = append(c.statements, query)
}

// countedTx counts the statements of a transaction on its Counter.
type countedTx struct {
	dialect.Tx
	counter *Counter
}

func (tx *countedTx) Exec(ctx context.Context, query string, args, v any) error {
	tx.counter.record(query)
	return tx.Tx.Exec(ctx, query, args, v)
}

func (tx *countedTx) Query(ctx context.Context, query string, args, v any) error {
	tx.counter.record(query)
	return tx.Tx.Query(ctx, query, args, v)
}

// Unwrap returns the counted transaction, so that (*ent.Tx).SQLTx reaches
// the *sql.Tx beneath.
func (tx *countedTx) Unwrap() dialect.Tx { return tx.Tx }

// ExecContext counts and runs a raw statement (ent's sql/execquery feature,
// used by the report facts).
func (c *Counter) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.record(query)
	return c.Driver.(execQuerier).ExecContext(ctx, query, args...)
}

// QueryContext counts and runs a raw query.
func (c *Counter) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.record(query)
	return c.Driver.(execQuerier).QueryContext(ctx, query, args...)
}

func (tx *countedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.counter.record(query)
	return tx.Tx.(execQuerier).ExecContext(ctx, query, args...)
}

func (tx *countedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx.counter.record(query)
	return tx.Tx.(execQuerier).QueryContext(ctx, query, args...)
}

type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// CountIn counts the statements that contain part, written with Postgres's
// quotes: SQLite's backquotes count as double quotes, so one part serves both
// databases.
func CountIn(statements []string, part string) int {
	n := 0
	for _, s := range statements {
		if strings.Contains(strings.ReplaceAll(s, "`", `"`), part) {
			n++
		}
	}
	return n
}
