package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/tenant"
	"github.com/switchboard-dev/switchboard/store/bulk"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Builder computes the facts of whole conversations in memory and writes
// them in bulk: the backfill of conversations from before the facts
// (Backfill), and the seed of the report benchmark. It knows a
// conversation's status now, not its history: a resolved conversation
// counts one resolution (at resolved_at), and no reopening.
type Builder struct {
	tc      tenantClock
	counts  map[countKey]*counts
	bins    map[binKey]int64
	samples []sample
	states  map[string]state
}

type countKey struct {
	dim   string
	slot  int64
	dimID string
}

type binKey struct {
	dim   string
	day   int64
	kind  string
	dimID string
	bin   int
}

// NewBuilder builds facts for tenant t.
func NewBuilder(t *ent.Tenant) *Builder {
	tc, _ := newTenantClock(t)
	return newBuilder(tc)
}

func newBuilder(tc tenantClock) *Builder {
	return &Builder{tc: tc, counts: map[countKey]*counts{}, bins: map[binKey]int64{}, states: map[string]state{}}
}

// SetFirstResponseTarget gives a number its own first-response target (in
// seconds), which its first responses added later are judged by instead of
// the tenant's.
func (b *Builder) SetFirstResponseTarget(numberID string, seconds int) {
	b.tc.setTarget(numberID, int64(seconds))
}

// Add computes the facts of conv from its messages, oldest first. Its
// status history is unknown: a resolved conversation counts one resolution,
// at resolved_at (updated_at when that is unset), from its opening.
func (b *Builder) Add(conv *ent.Conversation, msgs []*ent.Message) {
	var changes []StatusChange
	if conv.Status == conversation.StatusRESOLVED {
		at := conv.UpdatedAt
		if conv.ResolvedAt != nil {
			at = *conv.ResolvedAt
		}
		changes = []StatusChange{{Resolved: true, At: at}}
	}
	b.AddHistory(conv, msgs, changes)
}

// StatusChange is a resolution (Resolved) or a reopening of a
// conversation, at an instant.
type StatusChange struct {
	Resolved bool
	At       time.Time
}

// AddHistory computes the facts of conv from its messages, oldest first,
// and its status changes, in order: each resolution counts, from the
// opening or the last reopening, and each reopening, as the hooks count
// them when they follow the writes (TrackStatus). A change that does not
// move the conversation in or out of resolved is ignored, as there.
func (b *Builder) AddHistory(conv *ent.Conversation, msgs []*ent.Message, changes []StatusChange) {
	d := conversationDims(conv)
	b.addCounts(conv.CreatedAt, d, counts{Opened: 1})
	st := state{episodeStartedAt: conv.CreatedAt}
	seen := map[string]bool{}
	for _, m := range msgs {
		md := dims{number: m.NumberID, team: d.team}
		var c counts
		if m.Direction == message.DirectionINBOUND {
			md.agent, c.MessagesIn = d.agent, 1
		} else {
			md.agent, c.MessagesOut = deref(m.SenderID), 1
		}
		b.addCounts(m.CreatedAt, md, c)
		got, _ := b.tc.step(&st, conv, m, func(agent string) (bool, error) { return seen[agent], nil })
		for _, s := range got {
			seen[s.dims.agent] = true
			b.addSample(s)
		}
	}
	resolved := false
	for _, ch := range changes {
		switch {
		case ch.Resolved == resolved:
		case ch.Resolved:
			b.addCounts(ch.At, d, counts{Resolved: 1})
			b.addSample(b.tc.span(KindResolution, conv.ID, d, st.episodeStartedAt, ch.At))
		default:
			b.addCounts(ch.At, d, counts{Reopened: 1})
			st.episodeStartedAt = ch.At
		}
		resolved = ch.Resolved
	}
	b.states[conv.ID] = st
}

func (b *Builder) addCounts(at time.Time, d dims, c counts) {
	b.addCountsAt(localHour(at, b.tc.loc), localDay(at, b.tc.loc), d, c)
}

// addCountsAt adds c to d's rows of a local hour and day (Unix seconds).
func (b *Builder) addCountsAt(hour, day int64, d dims, c counts) {
	for _, r := range d.rows() {
		for _, k := range []countKey{{r[0], hour, r[1]}, {daily(r[0]), day, r[1]}} {
			if b.counts[k] == nil {
				b.counts[k] = &counts{}
			}
			b.counts[k].add(c)
		}
	}
}

func (b *Builder) addSample(s sample) {
	b.samples = append(b.samples, s)
	b.addCounts(s.at, s.dims, s.counts())
	b.addBins(localDay(s.at, b.tc.loc), s.dims, s.kind, binOf(s.ms), binOf(s.businessMs), 1)
}

// addBins adds n samples of a kind to bin (and n of its business-hours
// variant to businessBin) in d's histograms of a local day.
func (b *Builder) addBins(day int64, d dims, kind string, bin, businessBin int, n int64) {
	for _, r := range d.rows() {
		b.bins[binKey{r[0], day, kind, r[1], bin}] += n
		b.bins[binKey{r[0], day, kind + businessSuffix, r[1], businessBin}] += n
	}
}

// Write adds the built facts to db's (in a transaction, when db is one) and
// empties the builder.
func (b *Builder) Write(ctx context.Context, db execer) error {
	countRows := make([][]any, 0, len(b.counts))
	for k, c := range b.counts {
		row := []any{b.tc.id, k.dim, k.slot, k.dimID}
		for _, v := range c.fields() {
			row = append(row, *v)
		}
		countRows = append(countRows, row)
	}
	// One order for every writer (two folders at once): they wait for each
	// other on a shared row instead of deadlocking.
	slices.SortFunc(countRows, func(a, b []any) int {
		return cmp.Or(strings.Compare(a[1].(string), b[1].(string)), cmp.Compare(a[2].(int64), b[2].(int64)), strings.Compare(a[3].(string), b[3].(string)))
	})
	if err := insert(ctx, db, countsTable, countRows, countsUpsert); err != nil {
		return err
	}
	packs := map[packKey]map[int]int64{}
	for k, n := range b.bins {
		pk := packKey{k.dim, k.kind, k.day, k.dimID}
		if packs[pk] == nil {
			packs[pk] = map[int]int64{}
		}
		packs[pk][k.bin] += n
	}
	if err := addPacks(ctx, db, b.tc.id, packs); err != nil {
		return err
	}
	sampleRows := make([][]any, 0, len(b.samples))
	for _, s := range b.samples {
		sampleRows = append(sampleRows, sampleRow(b.tc.id, s))
	}
	if err := insert(ctx, db, sampleTable, sampleRows, ""); err != nil {
		return err
	}
	stateRows := make([][]any, 0, len(b.states))
	for id, st := range b.states {
		stateRows = append(stateRows, stateRow(b.tc.id, id, st))
	}
	if err := insert(ctx, db, stateTable, stateRows, " ON CONFLICT (conversation_id) DO NOTHING"); err != nil {
		return err
	}
	*b = *newBuilder(b.tc)
	return nil
}

// insert writes rows into table (with its column list) in multi-row
// statements, each ending with suffix.
func insert(ctx context.Context, db execer, table string, rows [][]any, suffix string) error {
	if err := bulk.Insert(ctx, db, table, rows, suffix); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// backfillSize is how many conversations Backfill reads and writes at once.
const backfillSize = 500

// Backfill computes the facts of every conversation that has none: data
// written before the facts existed (an upgraded database), or by raw SQL
// that bypassed the hooks. It runs at start-up, before the instance serves;
// a second run finds nothing to do. It returns how many conversations it
// filled in.
func Backfill(ctx context.Context, client *ent.Client) (int, error) {
	tenants, err := client.Tenant.Query().Order(ent.Asc(tenant.FieldID)).All(viewer.Platform(ctx))
	if err != nil {
		return 0, err
	}
	total := 0
	for _, t := range tenants {
		for {
			ids, err := missing(ctx, client, t.ID)
			if err != nil || len(ids) == 0 {
				if err != nil {
					return total, err
				}
				break
			}
			if err := backfillPage(ctx, client, t, ids); err != nil {
				return total, fmt.Errorf("report: backfill of %s: %w", t.ID, err)
			}
			total += len(ids)
		}
	}
	return total, nil
}

// missing lists up to a page of the tenant's conversations without facts.
func missing(ctx context.Context, client *ent.Client, tenantID string) ([]string, error) {
	rows, err := client.QueryContext(ctx, fmt.Sprintf(`SELECT c.id FROM conversations c
LEFT JOIN report_conversations r ON r.conversation_id = c.id
WHERE c.tenant_id = $1 AND r.conversation_id IS NULL ORDER BY c.id LIMIT %d`, backfillSize), tenantID)
	if err != nil {
		return nil, fmt.Errorf("report: conversations without facts: %w", err)
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

func backfillPage(ctx context.Context, client *ent.Client, t *ent.Tenant, ids []string) error {
	ctx = viewer.System(ctx, t.ID)
	tx, err := client.Tx(ctx)
	if err != nil {
		return err
	}
	err = func() error {
		convs, err := tx.Conversation.Query().Where(conversation.IDIn(ids...)).Order(ent.Asc(conversation.FieldID)).All(ctx)
		if err != nil {
			return err
		}
		msgs, err := tx.Message.Query().Where(message.ConversationIDIn(ids...)).
			Order(ent.Asc(message.FieldCreatedAt), ent.Asc(message.FieldID)).All(ctx)
		if err != nil {
			return err
		}
		byConv := map[string][]*ent.Message{}
		for _, m := range msgs {
			byConv[m.ConversationID] = append(byConv[m.ConversationID], m)
		}
		b := NewBuilder(t)
		if err := b.tc.readTargets(ctx, tx.Client()); err != nil {
			return err
		}
		for _, c := range convs {
			b.Add(c, byConv[c.ID])
		}
		return b.Write(ctx, tx.Client())
	}()
	if err != nil {
		return fmt.Errorf("%w (rollback: %v)", err, tx.Rollback())
	}
	return tx.Commit()
}
