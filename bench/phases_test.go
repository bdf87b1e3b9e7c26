package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
)

// phases times what one operation spends in each call to the database (BEGIN,
// every statement, COMMIT), so that a slow operation says where its time
// went: a commit that checkpoints the WAL, a statement Postgres waits on, or
// nothing of the database's (Go, a GC, the scheduler). It wraps the driver
// outside any other wrapper (storetest.Counter) and adds only a clock read
// per call.
type phases struct {
	dialect.Driver

	mu    sync.Mutex
	calls []phase
	// lastClaim is routing's last claim sent raw, to explain it: UPDATE
	// agents, or on Postgres the WITH that claims, assigns and records.
	lastClaim     string
	lastClaimArgs []any
}

type phase struct {
	what string
	d    time.Duration
}

func (p *phases) Wrap(drv dialect.Driver) dialect.Driver {
	p.Driver = drv
	return p
}

func (p *phases) add(what string, t0 time.Time) {
	d := time.Since(t0)
	p.mu.Lock()
	p.calls = append(p.calls, phase{what, d})
	p.mu.Unlock()
}

// take returns the calls since the last take.
func (p *phases) take() []phase {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.calls
	p.calls = nil
	return out
}

func (p *phases) Exec(ctx context.Context, query string, args, v any) error {
	defer p.add(label(query), time.Now())
	return p.Driver.Exec(ctx, query, args, v)
}

func (p *phases) Query(ctx context.Context, query string, args, v any) error {
	defer p.add(label(query), time.Now())
	return p.Driver.Query(ctx, query, args, v)
}

func (p *phases) Tx(ctx context.Context) (dialect.Tx, error) {
	t0 := time.Now()
	tx, err := p.Driver.Tx(ctx)
	p.add("BEGIN", t0)
	if err != nil {
		return nil, err
	}
	return &phasedTx{Tx: tx, p: p}, nil
}

func (p *phases) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	t0 := time.Now()
	tx, err := p.Driver.(interface {
		BeginTx(context.Context, *sql.TxOptions) (dialect.Tx, error)
	}).BeginTx(ctx, opts)
	p.add("BEGIN", t0)
	if err != nil {
		return nil, err
	}
	return &phasedTx{Tx: tx, p: p}, nil
}

func (p *phases) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer p.add(label(query), time.Now())
	return p.Driver.(execQuerier).ExecContext(ctx, query, args...)
}

func (p *phases) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	defer p.add(label(query), time.Now())
	return p.Driver.(execQuerier).QueryContext(ctx, query, args...)
}

type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type phasedTx struct {
	dialect.Tx
	p *phases
}

func (tx *phasedTx) Exec(ctx context.Context, query string, args, v any) error {
	defer tx.p.add(label(query), time.Now())
	return tx.Tx.Exec(ctx, query, args, v)
}

func (tx *phasedTx) Query(ctx context.Context, query string, args, v any) error {
	defer tx.p.add(label(query), time.Now())
	return tx.Tx.Query(ctx, query, args, v)
}

func (tx *phasedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer tx.p.add(label(query), time.Now())
	return tx.Tx.(execQuerier).ExecContext(ctx, query, args...)
}

// QueryContext times the statement until its rows are returned; reading
// them (a few rows here) is left to the caller's time.
func (tx *phasedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if label(query) == "UPDATE agents" || strings.HasPrefix(query, "WITH claimed AS") {
		tx.p.mu.Lock()
		tx.p.lastClaim, tx.p.lastClaimArgs = query, args
		tx.p.mu.Unlock()
	}
	defer tx.p.add(label(query), time.Now())
	return tx.Tx.(execQuerier).QueryContext(ctx, query, args...)
}

func (tx *phasedTx) Commit() error {
	defer tx.p.add("COMMIT", time.Now())
	return tx.Tx.Commit()
}

func (tx *phasedTx) Rollback() error {
	defer tx.p.add("ROLLBACK", time.Now())
	return tx.Tx.Rollback()
}

func (tx *phasedTx) Unwrap() dialect.Tx { return tx.Tx }

// label names a statement by its verb and first table.
func label(query string) string {
	f := strings.Fields(query)
	switch {
	case len(f) >= 3 && f[0] == "UPDATE":
		return "UPDATE " + strings.Trim(f[1], `"`)
	case len(f) >= 3 && f[0] == "INSERT":
		return "INSERT " + strings.Trim(f[2], `"`)
	case len(f) >= 1 && f[0] == "SELECT":
		if i := slices.Index(f, "FROM"); i >= 0 && i+1 < len(f) {
			return "SELECT " + strings.Trim(f[i+1], `"`)
		}
	}
	if len(f) > 0 {
		return f[0]
	}
	return "?"
}

// opTrace is what one measured operation did.
type opTrace struct {
	total  time.Duration
	calls  []phase
	gc     bool // a GC cycle ended during the operation
	walCkp bool // the main database file was written (SQLite: only a checkpoint does that in WAL mode)
}

// gcCycles reads the number of completed GC cycles (cheap: no stop).
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// fileStamp is the size and modification time of path, to tell whether an
// SQLite checkpoint wrote the main file during an operation.
func fileStamp(path string) string {
	if path == "" {
		return ""
	}
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
}

// histogram logs how many operations took more than each bound, and for
// those above slow, where the time went: the call that took longest, and
// whether a GC cycle or a checkpoint happened meanwhile.
func histogram(b *testing.B, name string, ops []opTrace, slow time.Duration) {
	bounds := []time.Duration{time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond}
	var hist strings.Builder
	for _, bound := range bounds {
		n := 0
		for _, op := range ops {
			if op.total > bound {
				n++
			}
		}
		fmt.Fprintf(&hist, " >%v:%d", bound, n)
	}
	// the median of each call, and who is worst in the slow operations
	per := map[string][]time.Duration{}
	var order []string
	causes := map[string]int{}
	slowN, gcN, ckpN, ckpAll := 0, 0, 0, 0
	for _, op := range ops {
		if op.walCkp {
			ckpAll++
		}
		var db time.Duration
		worst := phase{what: "go"}
		for i, c := range op.calls {
			key := fmt.Sprintf("%d %s", i, c.what)
			if _, ok := per[key]; !ok {
				order = append(order, key)
			}
			per[key] = append(per[key], c.d)
			db += c.d
			if c.d > worst.d {
				worst = c
			}
		}
		if op.total <= slow {
			continue
		}
		slowN++
		if op.gc {
			gcN++
		}
		if op.walCkp {
			ckpN++
		}
		if rest := op.total - db; rest > worst.d {
			worst = phase{"outside the database (Go, GC, scheduler)", rest}
		}
		causes[worst.what]++
	}
	var med strings.Builder
	for _, key := range order {
		ds := per[key]
		slices.Sort(ds)
		fmt.Fprintf(&med, " [%s p50 %.2f p99 %.2f ms n=%d]", key, ms(ds[len(ds)/2]), ms(ds[int(0.99*float64(len(ds)-1))]), len(ds))
	}
	fmt.Printf("%s: %d ops;%s\n", name, len(ops), hist.String())
	fmt.Printf("%s: per call:%s\n", name, med.String())
	fmt.Printf("%s: %d ops above %v: slowest call %v; a GC cycle ended during %d of them; the main file was written (checkpoint) during %d of them (%d of all ops)\n",
		name, slowN, slow, causes, gcN, ckpN, ckpAll)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
