package connector

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// ClaimLease is how long an ingest holds the delivery it claimed. One that
// has not recorded its outcome by then is presumed dead (a crash, a kill)
// and a sweep takes the delivery again: far longer than an ingest takes,
// short enough that a delivery a dead instance held is ingested soon.
const ClaimLease = 30 * time.Second

// Sweeper ingests the stored deliveries that no ingest holds: those stored
// while the eager ingest's queue was full, those whose wait for a status's message
// or whose backoff after a failure is over, those replayed, and those whose
// ingest died (its claim's lease passed). Every instance runs one; a claim
// takes each delivery for one of them only (on Postgres, FOR UPDATE SKIP
// LOCKED: two sweeps skip each other's rows; SQLite has one writer).
type Sweeper struct {
	Client   *ent.Client
	Dialect  string
	Ingester *Ingester
	// Every is the pause between sweeps that found nothing to do (1 s when
	// zero).
	Every time.Duration
	// Batch bounds the deliveries one claim takes; Workers ingest them.
	Batch, Workers int
	// Lease is how long a claim holds its deliveries (ClaimLease when zero).
	Lease time.Duration
	Log   *slog.Logger
}

// Run sweeps until ctx ends: at once again after a full batch, else after
// Every.
func (s *Sweeper) Run(ctx context.Context) {
	for {
		n, err := s.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			s.Log.Error("whatsapp: sweep of stored deliveries failed", "err", err)
		}
		if n == s.batch() && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(cmp.Or(s.Every, time.Second)):
		}
	}
}

func (s *Sweeper) batch() int { return cmp.Or(s.Batch, 64) }

// Sweep claims the deliveries due and ingests them; it returns how many it
// claimed. Once claimed, they are ingested even if ctx ends meanwhile.
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	claim := newClaim()
	ids, err := s.Claim(ctx, claim, s.batch())
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	ctx = context.WithoutCancel(ctx)
	stored, err := s.Client.WebhookDelivery.Query().Where(webhookdelivery.IDIn(ids...)).
		Order(ent.Asc(webhookdelivery.FieldCreatedAt)).All(viewer.Platform(ctx))
	if err != nil {
		return len(ids), err // the claim passes, and a sweep takes them again
	}
	ds := parseAll(stored)
	// Each worker ingests its share (ingestBatch: runs without statuses
	// in one transaction, on Postgres a delivery with statuses alone).
	// SQLite has one writer: one worker, one transaction for the whole
	// claim. On Postgres the statuses of one message go to the same share,
	// in order: two shares updating the same messages in different orders
	// would deadlock.
	workers := min(cmp.Or(s.Workers, 8), len(ds))
	if s.Dialect == dialect.SQLite {
		workers = 1
	}
	shares := [][]delivery{ds}
	if workers > 1 {
		shares = make([][]delivery, workers)
		for _, d := range ds {
			i := partition(d, workers)
			shares[i] = append(shares[i], d)
		}
	}
	var wg sync.WaitGroup
	for _, share := range shares {
		if len(share) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Ingester.ingestBatch(ctx, share)
		}()
	}
	wg.Wait()
	return len(ids), nil
}

// shareKey is what decides a delivery's share of a sweep and its partition
// of the eager ingest: the message its first status is about, else the
// customer its first message is from (an echo or a history item of the
// business's is to), else the delivery itself. Two batches ingested at
// once then hold different customers' contacts and conversations, and one
// message's statuses go in order.
func shareKey(d delivery) string {
	if d.n != nil {
		for _, ch := range d.n.Changes {
			for _, st := range ch.Statuses {
				return st.MessageID
			}
			for _, items := range [][]whatsapp.Message{ch.Messages, ch.Echoes, ch.History} {
				for _, m := range items {
					return "customer " + cmp.Or(m.To, m.From) // To: the business's own, an echo's or history's
				}
			}
		}
	}
	return d.ID
}

// Claim takes, under claim, at most n deliveries that are RECEIVED and due
// (no due time, or past it), oldest first, for Lease, and returns their ids:
// one statement, UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)
// RETURNING id on Postgres.
func (s *Sweeper) Claim(ctx context.Context, claim string, n int) ([]string, error) {
	now := s.Ingester.clock.Now().UTC()
	b := sql.Dialect(s.Dialect)
	due := b.Select(webhookdelivery.FieldID).From(sql.Table(webhookdelivery.Table)).
		Where(sql.And(
			sql.EQ(webhookdelivery.FieldState, webhookdelivery.StateRECEIVED.String()),
			sql.Or(sql.IsNull(webhookdelivery.FieldDueAt), sql.LTE(webhookdelivery.FieldDueAt, now)),
		)).
		OrderBy(webhookdelivery.FieldCreatedAt).Limit(n)
	if s.Dialect == dialect.Postgres {
		due.ForUpdate(sql.WithLockAction(sql.SkipLocked))
	}
	query, args := b.Update(webhookdelivery.Table).
		Set(webhookdelivery.FieldClaim, claim).
		Set(webhookdelivery.FieldDueAt, now.Add(cmp.Or(s.Lease, ClaimLease))).
		Set(webhookdelivery.FieldUpdatedAt, now).
		Where(sql.In(webhookdelivery.FieldID, due)).
		Returning(webhookdelivery.FieldID).
		Query()
	rows, err := s.Client.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// newClaim is a claim's token, unique across instances.
func newClaim() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
