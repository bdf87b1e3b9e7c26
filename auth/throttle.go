package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/loginthrottle"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// throttle slows password guessing, per account (the email, across
// tenants) and per client address, with counters in the database so that
// every instance sees the same. Each attempt is counted when it is admitted,
// before the password is checked, so a burst of concurrent guesses cannot
// all pass the check; a correct password takes its attempt back. Past the
// free attempts, each attempt locks the key for twice as long as the one
// before, up to maxLock: exponential backoff ending in a temporary lockout.
type throttle struct {
	client *ent.Client
	clock  func() time.Time
}

// now is the time to the microsecond, as both databases keep it (Postgres
// rounds, so a lock stored from nanoseconds could end up to 1µs later).
func (t *throttle) now() time.Time { return t.clock().UTC().Truncate(time.Microsecond) }

// throttleRule is how many attempts a key has before waits begin, and how
// they grow.
type throttleRule struct {
	free       int
	first, max time.Duration
}

var (
	accountRule = throttleRule{free: 5, first: time.Second, max: 15 * time.Minute}
	addressRule = throttleRule{free: 20, first: time.Second, max: 15 * time.Minute}
)

const (
	// forgetAfter: failures older than this no longer count.
	forgetAfter = time.Hour
	// auditEvery: failed sign-ins of an account are recorded in its
	// tenant's audit log at most once per this period, aggregated.
	auditEvery = 15 * time.Minute
)

func accountKey(email string) string { return "acct:" + email }

// addressKey names the counter of a client address. An IPv6 client counts
// by its /64: one subscriber is handed a whole /64 (often far more), so a
// counter per full address would give a guesser 2^64 fresh ones. IPv4 (and
// IPv4 written as IPv6) counts by the address.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "addr:" + ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "addr:" + p.String()
	}
	return "addr:" + a.String()
}

type throttleKey struct {
	key  string
	rule throttleRule
}

func keysOf(email, ip string) []throttleKey {
	keys := []throttleKey{{accountKey(email), accountRule}}
	if ip != "" {
		keys = append(keys, throttleKey{addressKey(ip), addressRule})
	}
	return keys
}

// lock returns the row of key, created if absent, locked for the rest of tx
// (updating it first locks it on Postgres; SQLite serialises writers).
func (t *throttle) lock(ctx context.Context, tx *ent.Tx, key string) (*ent.LoginThrottle, error) {
	err := tx.LoginThrottle.Create().SetKey(key).OnConflictColumns(loginthrottle.FieldKey).Ignore().Exec(ctx)
	if err != nil {
		return nil, err
	}
	if err := tx.LoginThrottle.Update().Where(loginthrottle.Key(key)).SetUpdatedAt(t.now()).Exec(ctx); err != nil {
		return nil, err
	}
	return tx.LoginThrottle.Query().Where(loginthrottle.Key(key)).Only(ctx)
}

// admit counts an attempt on the account and the address, or refuses it
// with RATE_LIMITED while either is locked (a refused attempt is not
// counted).
func (t *throttle) admit(ctx context.Context, email, ip string) error {
	now := t.now()
	return store.WithTx(viewer.Platform(ctx), t.client, func(ctx context.Context, tx *ent.Tx) error {
		keys := keysOf(email, ip) // always in this order, so two admissions never deadlock
		rows := make([]*ent.LoginThrottle, len(keys))
		for i, k := range keys {
			row, err := t.lock(ctx, tx, k.key)
			if err != nil {
				return fmt.Errorf("login throttle: %w", err)
			}
			if row.LockedUntil != nil && now.Before(*row.LockedUntil) {
				return apperr.Limited(row.LockedUntil.Sub(now), "too many sign-in attempts: try again later")
			}
			rows[i] = row
		}
		for i, k := range keys {
			failures := rows[i].Failures
			if rows[i].LastFailureAt != nil && now.Sub(*rows[i].LastFailureAt) > forgetAfter {
				failures = 0
			}
			failures++
			u := rows[i].Update().SetFailures(failures).SetLastFailureAt(now)
			if failures >= k.rule.free {
				u.SetLockedUntil(now.Add(k.rule.wait(failures)))
			} else {
				u.ClearLockedUntil()
			}
			if err := u.Exec(ctx); err != nil {
				return fmt.Errorf("login throttle: %w", err)
			}
		}
		return nil
	})
}

// wait is how long a key stays locked after its failures-th attempt.
func (r throttleRule) wait(failures int) time.Duration {
	d := r.first
	for i := r.free; i < failures && d < r.max; i++ {
		d *= 2
	}
	return min(d, r.max)
}

// succeeded takes back the attempt of a correct password: the account
// starts afresh, the address forgets one attempt (so signing in to one's own
// account between guesses at others' gains nothing).
func (t *throttle) succeeded(ctx context.Context, email, ip string) {
	err := store.WithTx(viewer.Platform(ctx), t.client, func(ctx context.Context, tx *ent.Tx) error {
		if err := tx.LoginThrottle.Update().Where(loginthrottle.Key(accountKey(email))).
			SetFailures(0).ClearLockedUntil().Exec(ctx); err != nil {
			return err
		}
		if ip == "" {
			return nil
		}
		row, err := t.lock(ctx, tx, addressKey(ip))
		if err != nil {
			return err
		}
		u := row.Update().SetFailures(max(0, row.Failures-1))
		if row.Failures-1 < addressRule.free {
			u.ClearLockedUntil()
		}
		return u.Exec(ctx)
	})
	if err != nil {
		slog.ErrorContext(ctx, "login throttle: forget a successful attempt", "err", err)
	}
}

// failed records a wrong password for accounts (those with that email) in
// their tenants' audit logs, aggregated: at most one record per account
// every auditEvery, counting the attempts since the last.
func (t *throttle) failed(ctx context.Context, accounts []*ent.Agent, email, ip string) error {
	now := t.now()
	var report int
	err := store.WithTx(viewer.Platform(ctx), t.client, func(ctx context.Context, tx *ent.Tx) error {
		row, err := t.lock(ctx, tx, accountKey(email))
		if err != nil {
			return err
		}
		pending := row.Unreported + 1
		if len(accounts) == 0 {
			// An unknown email: nobody to tell, but the same writes, so that
			// it costs what a known one does (and its row stays purgeable).
			pending = 0
		}
		if pending == 0 || (row.ReportedAt != nil && now.Sub(*row.ReportedAt) < auditEvery) {
			return row.Update().SetUnreported(pending).Exec(ctx)
		}
		report = pending
		return row.Update().SetUnreported(0).SetReportedAt(now).Exec(ctx)
	})
	if err != nil || report == 0 {
		return err
	}
	for _, a := range accounts {
		err := store.WithTx(viewer.System(ctx, a.TenantID), t.client, func(ctx context.Context, tx *ent.Tx) error {
			return audit.Record(ctx, tx, audit.Event{
				Action: audit.ActionLoginFailed, TargetID: a.ID,
				Summary: fmt.Sprintf("%d failed sign-in(s) for %s, the last from %s", report, a.Name, ip),
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// forgetRowsAfter is how long an idle throttle row is kept: a guesser
// trying a million made-up emails leaves a million rows, which go once they
// no longer count.
const forgetRowsAfter = 24 * time.Hour

// PurgeThrottles deletes the throttle rows that no longer count: untouched
// for a day, not locked, and with no failures still to be audited. It
// returns how many went.
func (s *Service) PurgeThrottles(ctx context.Context) (int, error) {
	now := s.throttle.now()
	return s.client.LoginThrottle.Delete().Where(
		loginthrottle.UpdatedAtLT(now.Add(-forgetRowsAfter)),
		loginthrottle.Or(loginthrottle.LockedUntilIsNil(), loginthrottle.LockedUntilLT(now)),
		loginthrottle.Unreported(0),
	).Exec(viewer.Platform(ctx))
}

// PurgeThrottlesArgs is the periodic job that runs PurgeThrottles.
type PurgeThrottlesArgs struct{}

// Kind names the job.
func (PurgeThrottlesArgs) Kind() string { return "auth.purge_throttles" }

// PurgeThrottlesWorker runs PurgeThrottlesArgs.
type PurgeThrottlesWorker struct {
	river.WorkerDefaults[PurgeThrottlesArgs]
	Auth *Service
}

// Work purges.
func (w *PurgeThrottlesWorker) Work(ctx context.Context, _ *river.Job[PurgeThrottlesArgs]) error {
	_, err := w.Auth.PurgeThrottles(ctx)
	return err
}

// PeriodicPurgeThrottles is the job to give River: every hour.
func PeriodicPurgeThrottles() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return PurgeThrottlesArgs{}, nil }, nil)
}
