package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/lib/pq"
	"modernc.org/sqlite" // registers "sqlite"

	"github.com/switchboard-dev/switchboard/ent"
	// Registers the privacy policies and hooks of ent/schema; without it the
	// client enforces none of them.
	_ "github.com/switchboard-dev/switchboard/ent/runtime"
)

// DB is an open database: the ent client for the application and the
// underlying pool for what ent does not do (migrations, health checks).
type DB struct {
	Client *ent.Client
	SQL    *sql.DB
	// Dialect is dialect.SQLite or dialect.Postgres.
	Dialect string

	// checkpoints is the SQLite log's checkpointer (checkpoint.go); nil on
	// Postgres and when the URL keeps SQLite's automatic checkpoints.
	checkpoints *checkpointer
}

// Option configures Open.
type Option func(*options)

type options struct {
	wrapDriver func(dialect.Driver) dialect.Driver
	// checkpointEvery and truncateBytes replace the checkpointer's defaults
	// (tests).
	checkpointEvery time.Duration
	truncateBytes   int64
}

// WithDriver wraps the driver the ent client talks to, for example to count
// the statements a test causes. Migrate does not go through it.
func WithDriver(wrap func(dialect.Driver) dialect.Driver) Option {
	return func(o *options) { o.wrapDriver = wrap }
}

// Open connects to the database at url and checks that it answers. It does
// not migrate; call Migrate for that.
//
// A postgres:// or postgresql:// URL opens PostgreSQL. Anything else names an
// SQLite file: sqlite:path, sqlite://path, file:path or a bare path; its
// directory is created if missing. Query parameters of an SQLite URL are
// passed to modernc.org/sqlite: _pragma values add to the ones Open sets
// (foreign keys on, WAL, a 10s busy timeout), other keys replace Open's
// (_txlock=immediate).
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	name, sqlDB, sqliteFile, err := openPool(url)
	if err != nil {
		return nil, err
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: connect %s: %w", redact(url), err)
	}
	var ckp *checkpointer
	if sqliteFile.dsn != "" && sqliteFile.ownCheckpoints {
		if ckp, err = startCheckpointer(sqliteFile.dsn, sqliteFile.path, o); err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("store: open %s: %w", url, err)
		}
	}
	var drv dialect.Driver = entsql.OpenDB(name, sqlDB)
	if o.wrapDriver != nil {
		drv = o.wrapDriver(drv)
	}
	client := ent.NewClient(ent.Driver(drv))
	guardEdges(client)
	return &DB{Client: client, SQL: sqlDB, Dialect: name, checkpoints: ckp}, nil
}

// Close closes the pool; the client is unusable afterwards.
func (db *DB) Close() error {
	var err error
	if db.checkpoints != nil {
		err = db.checkpoints.close()
	}
	return errors.Join(err, db.SQL.Close())
}

// sqliteFile is what Open needs to checkpoint an SQLite database.
type sqliteFile struct {
	dsn, path      string
	ownCheckpoints bool // the URL leaves checkpoints to the checkpointer
}

// openPool returns the ent dialect name and a pool sized for it, and for
// SQLite its file.
func openPool(url string) (string, *sql.DB, sqliteFile, error) {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		dsn, cache, err := statementCache(url)
		if err != nil {
			return "", nil, sqliteFile{}, fmt.Errorf("store: open %s: %w", redact(url), err)
		}
		connector, err := pq.NewConnector(dsn)
		if err != nil {
			return "", nil, sqliteFile{}, fmt.Errorf("store: open %s: %w", redact(url), err)
		}
		var sqlDB *sql.DB
		if cache {
			sqlDB = sql.OpenDB(cachingConnector{connector})
		} else {
			sqlDB = sql.OpenDB(connector)
		}
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(10)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		return dialect.Postgres, sqlDB, sqliteFile{}, nil
	}
	dsn, err := sqliteDSN(url)
	if err != nil {
		return "", nil, sqliteFile{}, err
	}
	registerSQLite3()
	sqlDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		return "", nil, sqliteFile{}, fmt.Errorf("store: open %s: %w", url, err)
	}
	file, err := fileOf(dsn)
	if err != nil {
		sqlDB.Close()
		return "", nil, sqliteFile{}, fmt.Errorf("store: open %s: %w", url, err)
	}
	// WAL lets readers run beside the one writer; more connections would only
	// queue on the write lock.
	sqlDB.SetMaxOpenConns(4)
	sqlDB.SetMaxIdleConns(4)
	return dialect.SQLite, sqlDB, file, nil
}

// sqliteDefaults are the connection settings every SQLite connection gets.
// _txlock=immediate makes BEGIN take the write lock, so a write transaction
// waits out busy_timeout instead of failing with SQLITE_BUSY when it upgrades
// from reading to writing. wal_autocheckpoint(0): no commit copies the log
// back into the database file, the checkpointer does (checkpoint.go).
var sqliteDefaults = url.Values{
	"_pragma": {"foreign_keys(1)", "journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)", autoCheckpointOff},
	"_txlock": {"immediate"},
}

// sqliteDSN turns an SQLite URL into a modernc.org/sqlite DSN and creates the
// directory of the file.
func sqliteDSN(rawURL string) (string, error) {
	path, query, _ := strings.Cut(rawURL, "?")
	for _, prefix := range []string{"sqlite://", "sqlite:", "file://", "file:"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			path = rest
			break
		}
	}
	switch {
	case path == "":
		return "", fmt.Errorf("store: %q names no SQLite file", rawURL)
	case path == ":memory:" || strings.Contains(query, "mode=memory"):
		// Every pooled connection would get a database of its own.
		return "", fmt.Errorf("store: in-memory SQLite is not supported, use a file (%q)", rawURL)
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("store: SQLite path %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("store: create directory for %s: %w", path, err)
	}
	user, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("store: SQLite URL %q: %w", rawURL, err)
	}
	params := url.Values{}
	for key, vs := range sqliteDefaults {
		params[key] = slices.Clone(vs)
	}
	// A URL that sets wal_autocheckpoint replaces Open's: modernc runs the
	// _pragma values sorted, not in order, so both would leave either one.
	if !ownCheckpoints(user["_pragma"]) {
		params["_pragma"] = slices.DeleteFunc(params["_pragma"], func(p string) bool { return p == autoCheckpointOff })
	}
	for key, vs := range user {
		if key == "_pragma" {
			params[key] = append(params[key], vs...)
		} else {
			params[key] = vs
		}
	}
	// The path is opened as an SQLite URI, which percent-decodes it.
	dsn := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: params.Encode()}
	return dsn.String(), nil
}

// fileOf reads the file and the checkpoint setting back from an SQLite DSN.
func fileOf(dsn string) (sqliteFile, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return sqliteFile{}, err
	}
	return sqliteFile{dsn: dsn, path: filepath.FromSlash(u.Path), ownCheckpoints: ownCheckpoints(u.Query()["_pragma"])}, nil
}

var sqlite3Once sync.Once

// registerSQLite3 registers modernc.org/sqlite also as "sqlite3", the name
// Atlas (behind ent's migration engine) opens SQLite with.
func registerSQLite3() {
	sqlite3Once.Do(func() {
		if !slices.Contains(sql.Drivers(), "sqlite3") {
			sql.Register("sqlite3", &sqlite.Driver{})
		}
	})
}

// redact hides the password of a database URL for error messages.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
}
