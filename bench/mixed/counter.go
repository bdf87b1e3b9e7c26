package mixed

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"

	"entgo.io/ent/dialect"
)

// statementCounter counts the statements the server's ent client sends, in
// and out of transactions (storetest.Counter keeps every statement for a
// test's failure message; a benchmark run sends millions, so this one only
// counts).
type statementCounter struct {
	dialect.Driver
	n atomic.Int64
}

// wrap is for store.WithDriver.
func (c *statementCounter) wrap(drv dialect.Driver) dialect.Driver {
	c.Driver = drv
	return c
}

func (c *statementCounter) Exec(ctx context.Context, query string, args, v any) error {
	c.n.Add(1)
	return c.Driver.Exec(ctx, query, args, v)
}

func (c *statementCounter) Query(ctx context.Context, query string, args, v any) error {
	c.n.Add(1)
	return c.Driver.Query(ctx, query, args, v)
}

func (c *statementCounter) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := c.Driver.Tx(ctx)
	if err != nil {
		return nil, err
	}
	return &countedTx{Tx: tx, n: &c.n}, nil
}

// BeginTx is what ent.Client.BeginTx calls.
func (c *statementCounter) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	beginner, ok := c.Driver.(interface {
		BeginTx(context.Context, *sql.TxOptions) (dialect.Tx, error)
	})
	if !ok {
		return nil, fmt.Errorf("bench: driver %T does not support BeginTx", c.Driver)
	}
	tx, err := beginner.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &countedTx{Tx: tx, n: &c.n}, nil
}

type countedTx struct {
	dialect.Tx
	n *atomic.Int64
}

func (tx *countedTx) Exec(ctx context.Context, query string, args, v any) error {
	tx.n.Add(1)
	return tx.Tx.Exec(ctx, query, args, v)
}

func (tx *countedTx) Query(ctx context.Context, query string, args, v any) error {
	tx.n.Add(1)
	return tx.Tx.Query(ctx, query, args, v)
}

// Unwrap lets (*ent.Tx).SQLTx reach the *sql.Tx beneath.
func (tx *countedTx) Unwrap() dialect.Tx { return tx.Tx }

// execQuerier is what ent's sql/execquery feature (Client.ExecContext,
// used by report/ for its facts) asks of a driver and of a transaction.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (c *statementCounter) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.n.Add(1)
	return c.Driver.(execQuerier).ExecContext(ctx, query, args...)
}

func (c *statementCounter) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.n.Add(1)
	return c.Driver.(execQuerier).QueryContext(ctx, query, args...)
}

func (tx *countedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.n.Add(1)
	return tx.Tx.(execQuerier).ExecContext(ctx, query, args...)
}

func (tx *countedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx.n.Add(1)
	return tx.Tx.(execQuerier).QueryContext(ctx, query, args...)
}
