package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"fmt"
	"net/url"
)

// lib/pq runs a statement with arguments in two round trips: it prepares it
// (Parse, Describe, Sync, and waits) and then executes it (Bind, Execute,
// Sync, and waits), and Postgres parses and plans it every time. Its
// binary_parameters option would send both at once, but it sends []byte
// arguments in binary, which jsonb columns refuse (ent's JSON fields).
// cachedConn keeps each connection's statements prepared instead (named, up
// to stmtCacheSize, least recently used first out): a statement seen before
// on the connection is one round trip, and Postgres reuses its parse (and,
// after five runs, may keep a generic plan, as for any prepared statement).
// Statements without arguments keep lib/pq's simple protocol, and large
// ones (bulk inserts, long IN lists) its unnamed statement: they vary too
// much to be worth keeping.

// statementCache takes the statement_cache parameter (Switchboard's, not
// lib/pq's: it would send it to the server) out of a Postgres URL and says
// whether connections keep their statements prepared: unless it is "off".
// Turn it off behind a pooler that does not keep a server session per
// client connection (PgBouncer's transaction pooling before 1.21, without
// max_prepared_statements): a prepared statement lives in one session.
func statementCache(rawURL string) (string, bool, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", false, err
	}
	q := u.Query()
	if !q.Has("statement_cache") {
		return rawURL, true, nil
	}
	v := q.Get("statement_cache")
	if v != "on" && v != "off" {
		return "", false, fmt.Errorf("statement_cache=%q: on or off", v)
	}
	q.Del("statement_cache")
	u.RawQuery = q.Encode()
	return u.String(), v == "on", nil
}

// stmtCacheSize is how many prepared statements a connection keeps.
const stmtCacheSize = 256

// stmtCacheMaxArgs and stmtCacheMaxQuery bound the statements worth keeping.
const (
	stmtCacheMaxArgs  = 64
	stmtCacheMaxQuery = 8 << 10
)

// cachingConnector opens lib/pq connections that keep their statements
// prepared.
type cachingConnector struct{ driver.Connector }

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &cachedConn{Conn: conn, stmts: map[string]*list.Element{}, lru: list.New()}, nil
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
}

// cachedConn is a lib/pq connection with its prepared statements. Like the
// connection, it is used by one goroutine at a time (database/sql).
type cachedConn struct {
	driver.Conn
	stmts map[string]*list.Element // query → its element in lru
	lru   *list.List               // of *cachedStmt, most recently used first
}

var (
	_ driver.QueryerContext     = (*cachedConn)(nil)
	_ driver.ExecerContext      = (*cachedConn)(nil)
	_ driver.ConnBeginTx        = (*cachedConn)(nil)
	_ driver.ConnPrepareContext = (*cachedConn)(nil)
	_ driver.NamedValueChecker  = (*cachedConn)(nil)
	_ driver.Pinger             = (*cachedConn)(nil)
	_ driver.SessionResetter    = (*cachedConn)(nil)
	_ driver.Validator          = (*cachedConn)(nil)
)

func cacheable(query string, args []driver.NamedValue) bool {
	return len(args) > 0 && len(args) <= stmtCacheMaxArgs && len(query) <= stmtCacheMaxQuery
}

// prepared returns query's statement, preparing and keeping it on first use.
func (c *cachedConn) prepared(ctx context.Context, query string) (driver.Stmt, error) {
	if e, ok := c.stmts[query]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*cachedStmt).stmt, nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = c.lru.PushFront(&cachedStmt{query: query, stmt: st})
	if c.lru.Len() > stmtCacheSize {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.stmts, old.query)
		if err := old.stmt.Close(); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (c *cachedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if !cacheable(query, args) {
		return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	st, err := c.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (c *cachedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if !cacheable(query, args) {
		return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	st, err := c.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *cachedConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

func (c *cachedConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *cachedConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *cachedConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

// Close closes the connection; its statements go with the session.
func (c *cachedConn) Close() error {
	c.stmts, c.lru = nil, nil
	return c.Conn.Close()
}
