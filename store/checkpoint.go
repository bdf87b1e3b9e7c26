package store

import (
	"cmp"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// SQLite in WAL mode appends every commit to the -wal file, and by default
// the commit that takes the log past 1,000 pages copies it back into the
// database file (an automatic checkpoint) before it returns: about one
// commit in fifty to a hundred paid several milliseconds for everyone's
// writes (BENCHMARKS.md, routing). Open turns that off on the pool's
// connections (wal_autocheckpoint(0)) and checkpoints from a goroutine of
// its own, on a connection outside the pool, instead.

// checkpointEvery (the default of options.checkpointEvery) is how often the checkpointer copies the log back into
// the database file. A PASSIVE checkpoint waits for nobody: it copies what
// no reader still needs, beside the writers, and costs nothing when the log
// holds nothing new.
const checkpointEvery = 200 * time.Millisecond

// checkpointTruncateBytes (the default of options.truncateBytes) is the size of the -wal file past which the
// checkpointer also runs a TRUNCATE checkpoint, which waits (busy_timeout)
// for the writer and for readers of old pages, copies everything and empties
// the file. Passive checkpoints keep the log far smaller; it grows past this
// only when a long reader keeps them from finishing (the log cannot start
// over while someone reads its pages) or after a burst of writes.
const checkpointTruncateBytes = 64 << 20

// checkpointBusyTimeout bounds how long a TRUNCATE checkpoint waits for the
// writer and for readers of old pages: it holds the write lock while it
// waits, so every write waits with it (the pool's busy_timeout is 10 s).
const checkpointBusyTimeout = "busy_timeout(200)"

// truncateBackoff is how long the checkpointer waits before it tries to
// empty the log again after a reader kept it from doing so; it doubles up to
// truncateBackoffMax while the reader stays. Without it a long reader (an
// export) would have every write wait checkpointBusyTimeout five times a
// second.
const (
	truncateBackoff    = 5 * time.Second
	truncateBackoffMax = 5 * time.Minute
)

// autoCheckpointOff is the pragma Open adds to every pooled SQLite
// connection. A URL that sets wal_autocheckpoint itself keeps SQLite's
// checkpoints in the committing transaction and gets no checkpointer.
const autoCheckpointOff = "wal_autocheckpoint(0)"

// ownCheckpoints reports whether the pragmas of an SQLite DSN leave the
// checkpoints to the checkpointer.
func ownCheckpoints(pragmas []string) bool {
	for _, p := range pragmas {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), "wal_autocheckpoint") && p != autoCheckpointOff {
			return false
		}
	}
	return true
}

// checkpointer checkpoints one SQLite database's log in the background.
type checkpointer struct {
	conn          *sql.DB // a connection of its own, beside the pool
	walPath       string
	every         time.Duration
	truncateBytes int64
	// noTruncateUntil and backoff hold TRUNCATE back after a busy one.
	noTruncateUntil time.Time
	backoff         time.Duration
	stop            chan struct{}
	done            chan struct{}
	once            sync.Once
	lastErr         string
}

// startCheckpointer opens its own connection to the database of dsn (whose
// file is path) and checkpoints every o.checkpointEvery until stopped.
func startCheckpointer(dsn, path string, o options) (*checkpointer, error) {
	conn, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	c := &checkpointer{conn: conn, walPath: path + "-wal", stop: make(chan struct{}), done: make(chan struct{}),
		every: cmp.Or(o.checkpointEvery, checkpointEvery), truncateBytes: cmp.Or(o.truncateBytes, checkpointTruncateBytes)}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	tick := time.NewTicker(c.every)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		c.checkpoint(context.Background())
	}
}

// checkpoint runs a PASSIVE checkpoint, and a TRUNCATE one when the log
// file has grown past c.truncateBytes.
func (c *checkpointer) checkpoint(ctx context.Context) {
	var busy, logFrames, copied int
	err := c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &copied)
	if err == nil {
		if fi, serr := os.Stat(c.walPath); serr == nil && fi.Size() > c.truncateBytes && !time.Now().Before(c.noTruncateUntil) {
			err = c.truncate(ctx, &busy, &logFrames, &copied)
			switch {
			case err == nil && busy != 0:
				c.backoff = min(max(2*c.backoff, truncateBackoff), truncateBackoffMax)
				c.noTruncateUntil = time.Now().Add(c.backoff)
				slog.Warn("store: the SQLite log could not be emptied: a reader of old pages or the writer held it",
					"wal", c.walPath, "bytes", fi.Size(), "frames", logFrames, "copied", copied, "retry_in", c.backoff)
			case err == nil:
				c.backoff = 0
			}
		}
	}
	if err != nil && err.Error() != c.lastErr {
		slog.Warn("store: SQLite checkpoint failed", "wal", c.walPath, "err", err)
	}
	c.lastErr = ""
	if err != nil {
		c.lastErr = err.Error()
	}
}

// truncate runs a TRUNCATE checkpoint with checkpointBusyTimeout. The
// timeout is set on the connection each time rather than in the DSN:
// modernc runs a DSN's _pragma values sorted, so of two busy_timeouts either
// may come last.
func (c *checkpointer) truncate(ctx context.Context, busy, logFrames, copied *int) error {
	conn, err := c.conn.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA "+checkpointBusyTimeout); err != nil {
		return err
	}
	return conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(busy, logFrames, copied)
}

// close stops the checkpointer and closes its connection. Closing the pool
// afterwards checkpoints what is left (SQLite does on the last close).
func (c *checkpointer) close() error {
	var err error
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		err = c.conn.Close()
	})
	return err
}
