package report

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/hours"
	"github.com/switchboard-dev/switchboard/store/bulk"
)

// Kinds of samples: one duration each, from a start to the instant it
// completes (at).
const (
	// KindFirstResponse: from the customer's first unanswered message to a
	// conversation's first response.
	KindFirstResponse = "FIRST_RESPONSE"
	// KindResponse: from the customer's first unanswered message to the
	// agent message that answers it (first responses included).
	KindResponse = "RESPONSE"
	// KindResolution: from the opening (or reopening) to the resolution.
	KindResolution = "RESOLUTION"
)

// businessSuffix marks the business-hours variant of a kind in histograms.
const businessSuffix = "/BUSINESS"

// Dimensions facts are kept by: each event adds to the tenant row and to the
// row of its number, team and agent ("" for none), and to the agent × number
// row that an agent's own dashboard breaks down by number.
const (
	dimTenant      = "tenant"
	dimNumber      = "number"
	dimTeam        = "team"
	dimAgent       = "agent"
	dimAgentNumber = "agent_number"
)

// dims says whom an event counts for.
type dims struct{ number, team, agent string }

func (d dims) rows() [][2]string {
	out := [][2]string{{dimTenant, ""}, {dimNumber, d.number}, {dimTeam, d.team}, {dimAgent, d.agent}}
	if d.agent != "" {
		out = append(out, [2]string{dimAgentNumber, agentNumber(d.agent, d.number)})
	}
	return out
}

func agentNumber(agent, number string) string { return agent + " " + number }

// counts are the additive figures of report_counts, in its column order.
type counts struct {
	Opened, Resolved, Reopened, MessagesIn, MessagesOut, Handled                               int64
	FirstResponses, FirstResponseMs, FirstResponseBusinessMs, Breaches, BusinessBreaches       int64
	Responses, ResponseMs, ResponseBusinessMs, Resolutions, ResolutionMs, ResolutionBusinessMs int64
}

var countColumns = []string{
	"opened", "resolved", "reopened", "messages_in", "messages_out", "handled",
	"first_responses", "first_response_ms", "first_response_business_ms", "first_response_breaches", "first_response_business_breaches",
	"responses", "response_ms", "response_business_ms", "resolutions", "resolution_ms", "resolution_business_ms",
}

func (c *counts) fields() []*int64 {
	return []*int64{
		&c.Opened, &c.Resolved, &c.Reopened, &c.MessagesIn, &c.MessagesOut, &c.Handled,
		&c.FirstResponses, &c.FirstResponseMs, &c.FirstResponseBusinessMs, &c.Breaches, &c.BusinessBreaches,
		&c.Responses, &c.ResponseMs, &c.ResponseBusinessMs, &c.Resolutions, &c.ResolutionMs, &c.ResolutionBusinessMs,
	}
}

func (c *counts) add(o counts) {
	mine, theirs := c.fields(), o.fields()
	for i := range mine {
		*mine[i] += *theirs[i]
	}
}

// sample is one duration of a conversation (a row of report_samples).
type sample struct {
	kind                     string
	conversationID           string
	dims                     dims
	startedAt, at            time.Time
	ms, businessMs           int64
	breached, businessBreach bool
	handled                  bool // the agent's first response in this conversation
}

// counts is what the sample adds to report_counts.
func (s sample) counts() counts {
	var c counts
	switch s.kind {
	case KindFirstResponse:
		c.FirstResponses, c.FirstResponseMs, c.FirstResponseBusinessMs = 1, s.ms, s.businessMs
		c.Breaches, c.BusinessBreaches = b2i(s.breached), b2i(s.businessBreach)
	case KindResponse:
		c.Responses, c.ResponseMs, c.ResponseBusinessMs, c.Handled = 1, s.ms, s.businessMs, b2i(s.handled)
	case KindResolution:
		c.Resolutions, c.ResolutionMs, c.ResolutionBusinessMs = 1, s.ms, s.businessMs
	}
	return c
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// tenantClock is what facts need from the tenant: its zone, its opening
// hours and its first-response targets (the numbers' read only by writes
// that may respond, readTargets), read once per write.
type tenantClock struct {
	id       string
	loc      *time.Location
	hours    hours.Hours
	hasHours bool
	targetMs int64
	// numberTargetMs holds the numbers' own targets, overriding targetMs.
	numberTargetMs map[string]int64
}

// readTenant reads the tenant's clock, once per transaction when p holds
// its facts.
func readTenant(ctx context.Context, c *ent.Client, p *pending, id string) (tenantClock, error) {
	if tc, ok := p.clock(id); ok {
		return tc, nil
	}
	t, err := c.Tenant.Get(ctx, id)
	if err != nil {
		return tenantClock{}, fmt.Errorf("report: tenant %s: %w", id, err)
	}
	tc, err := newTenantClock(t)
	if err == nil {
		p.setClock(tc)
	}
	return tc, err
}

// readTargets reads the numbers' own first-response targets.
func (tc *tenantClock) readTargets(ctx context.Context, db execer) error {
	rows, err := db.QueryContext(ctx, `SELECT id, first_response_target_seconds FROM numbers
WHERE tenant_id = $1 AND first_response_target_seconds IS NOT NULL`, tc.id)
	if err != nil {
		return fmt.Errorf("report: number targets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var seconds int64
		if err := rows.Scan(&id, &seconds); err != nil {
			return err
		}
		tc.setTarget(id, seconds)
	}
	return rows.Err()
}

func (tc *tenantClock) setTarget(numberID string, seconds int64) {
	if tc.numberTargetMs == nil {
		tc.numberTargetMs = map[string]int64{}
	}
	tc.numberTargetMs[numberID] = seconds * 1000
}

// targetOf is the first-response target in force on a number, in
// milliseconds: its own, else the tenant's.
func (tc tenantClock) targetOf(numberID string) int64 {
	if ms, ok := tc.numberTargetMs[numberID]; ok {
		return ms
	}
	return tc.targetMs
}

func newTenantClock(t *ent.Tenant) (tenantClock, error) {
	h, err := hours.New(t.Timezone, t.Settings.BusinessHours, t.Settings.Holidays)
	if err != nil { // an unknown zone: UTC, and no opening hours
		h, _ = hours.New("UTC", nil, nil)
	}
	return tenantClock{
		id: t.ID, loc: h.Loc, hours: h, hasHours: len(h.Weekly) > 0,
		targetMs: int64(t.Settings.FirstResponseTargetSeconds()) * 1000,
	}, nil
}

// span makes the sample of kind from start to at, with its business-hours
// time (all of it when the tenant set no opening hours) and, for a first
// response, whether it missed the target in force.
func (tc tenantClock) span(kind, conversationID string, d dims, start, at time.Time) sample {
	s := sample{kind: kind, conversationID: conversationID, dims: d, startedAt: start, at: at}
	s.ms = at.UnixMilli() - start.UnixMilli()
	s.businessMs = s.ms
	if tc.hasHours {
		s.businessMs = tc.hours.OpenBetween(time.UnixMilli(start.UnixMilli()), time.UnixMilli(at.UnixMilli())).Milliseconds()
	}
	if kind == KindFirstResponse {
		target := tc.targetOf(d.number)
		s.breached, s.businessBreach = s.ms > target, s.businessMs > target
	}
	return s
}

// localHour is the start of the tenant's local hour holding t, in Unix
// seconds: report_counts' slot. Local days and weeks are unions of them.
func localHour(t time.Time, loc *time.Location) int64 {
	_, off := t.In(loc).Zone()
	u := t.Unix()
	return u - mod(u+int64(off), 3600)
}

// localDay is the start of the tenant's local day holding t, in Unix
// seconds: the day of report_histogram_packs.
func localDay(t time.Time, loc *time.Location) int64 {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc).Unix()
}

func mod(a, b int64) int64 { return ((a % b) + b) % b }

// Bins of the duration histograms: whole seconds under a minute, then steps
// of 5 %. A percentile is the lower edge of the bin that holds it: exact to
// the second under a minute, within 5 % above.
const (
	exactBins = 60
	binGrowth = 1.05
)

// binOf is the histogram bin of a duration in milliseconds.
func binOf(ms int64) int {
	if ms < 0 {
		ms = 0
	}
	if ms < exactBins*1000 {
		return int(ms / 1000)
	}
	b := exactBins + int(math.Floor(math.Log(float64(ms)/(exactBins*1000))/math.Log(binGrowth)))
	// Floating point may land one bin off at an edge: settle on the edges.
	for b > exactBins && binFloor(b) > float64(ms)/1000 {
		b--
	}
	for binFloor(b+1) <= float64(ms)/1000 {
		b++
	}
	return b
}

// binFloor is the lower edge of bin b, in seconds.
func binFloor(b int) float64 {
	if b < exactBins {
		return float64(b)
	}
	return exactBins * math.Pow(binGrowth, float64(b-exactBins))
}

// execer runs SQL on the client's driver: the transaction when the client
// is a transaction's (ent's sql/execquery feature).
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// daily names the day-long rows of a dimension in report_counts: its
// slot is the start of a local day. Reports by day and week read them (a
// month per agent is 1,500 rows instead of 36,000 hourly ones); reports by
// hour read the hourly rows.
func daily(dim string) string { return dim + "@day" }

// countsUpsert adds excluded's figures to a report_counts row.
var countsUpsert = func() string {
	set := make([]string, len(countColumns))
	for i, col := range countColumns {
		set[i] = fmt.Sprintf("%s = report_counts.%s + excluded.%s", col, col, col)
	}
	return " ON CONFLICT (tenant_id, dim, slot, dim_id) DO UPDATE SET " + strings.Join(set, ", ")
}()

var countsTable = "report_counts (tenant_id, dim, slot, dim_id, " + strings.Join(countColumns, ", ") + ")"

// deltaColumns are report_deltas' columns as the hooks write them.
var deltaColumns = "tenant_id, hour, day, number_id, team_id, agent_id, " + strings.Join(countColumns, ", ") + ", kind, bin, business_bin, n"

// delta is a report_deltas row: counts (and, for a sample, one histogram
// bin of its kind, n samples) at a tenant's local hour and day.
type delta struct {
	tenant      string
	hour, day   int64
	dims        dims
	counts      counts
	kind        string
	bin, bizBin int
	n           int64
}

// deltaOf is the delta of counts c (taken away: sign -1) at instant at for
// dimensions d, without bins.
func deltaOf(tc tenantClock, at time.Time, d dims, c counts, sign int64) delta {
	x := delta{tenant: tc.id, hour: localHour(at, tc.loc), day: localDay(at, tc.loc), dims: d}
	x.counts.add(c)
	if sign < 0 {
		for _, v := range x.counts.fields() {
			*v = -*v
		}
	}
	return x
}

// deltaKey is what deltas that may be summed into one row share.
type deltaKey struct {
	tenant            string
	hour, day         int64
	number, team, agt string
	kind              string
	bin, bizBin       int
}

func (x delta) key() deltaKey {
	return deltaKey{x.tenant, x.hour, x.day, x.dims.number, x.dims.team, x.dims.agent, x.kind, x.bin, x.bizBin}
}

func (x delta) row() []any {
	row := make([]any, 0, 6+len(countColumns)+4)
	row = append(row, x.tenant, x.hour, x.day, x.dims.number, x.dims.team, x.dims.agent)
	for _, v := range x.counts.fields() {
		row = append(row, *v)
	}
	return append(row, x.kind, x.bin, x.bizBin, x.n)
}

// writeDeltas appends deltas to report_deltas: no shared row is locked (see
// Fold for how they reach report_counts and report_histogram_packs).
func writeDeltas(ctx context.Context, db execer, deltas []delta) error {
	rows := make([][]any, len(deltas))
	for i, x := range deltas {
		rows[i] = x.row()
	}
	if err := bulk.Insert(ctx, db, "report_deltas ("+deltaColumns+")", rows, ""); err != nil {
		return fmt.Errorf("report: deltas: %w", err)
	}
	return nil
}

// addDeltas writes deltas, or keeps them for the commit of the
// transaction whose facts p holds.
func addDeltas(ctx context.Context, db execer, p *pending, deltas []delta) error {
	if p != nil {
		p.addDeltas(deltas)
		return nil
	}
	return writeDeltas(ctx, db, deltas)
}

// addCounts adds c (or takes it away, sign -1) to every dimension row of
// the local hour holding at, and of its local day, as a delta.
func addCounts(ctx context.Context, db execer, p *pending, tc tenantClock, at time.Time, d dims, c counts, sign int64) error {
	return addDeltas(ctx, db, p, []delta{deltaOf(tc, at, d, c, sign)})
}

// addSamples records samples (sign 1) or takes them back (sign -1): their
// rows, and one delta each for their counts and their histogram bins (its
// duration's and its business-hours duration's). Rows and deltas may wait
// for the commit (p).
func addSamples(ctx context.Context, db execer, p *pending, tc tenantClock, samples []sample, sign int64) error {
	if len(samples) == 0 {
		return nil
	}
	deltas := make([]delta, 0, len(samples))
	var rows []sample
	for _, s := range samples {
		if sign > 0 {
			rows = append(rows, s)
		}
		x := deltaOf(tc, s.at, s.dims, s.counts(), sign)
		x.kind, x.bin, x.bizBin, x.n = s.kind, binOf(s.ms), binOf(s.businessMs), sign
		deltas = append(deltas, x)
	}
	if p != nil {
		p.addSamples(tc.id, rows)
	} else if err := writeSamples(ctx, db, tc.id, rows); err != nil {
		return err
	}
	return addDeltas(ctx, db, p, deltas)
}

// writeSamples inserts the rows of a tenant's samples.
func writeSamples(ctx context.Context, db execer, tenantID string, samples []sample) error {
	rows := make([][]any, len(samples))
	for i, s := range samples {
		rows[i] = sampleRow(tenantID, s)
	}
	if err := bulk.Insert(ctx, db, sampleTable, rows, ""); err != nil {
		return fmt.Errorf("report: sample: %w", err)
	}
	return nil
}

// sampleTable is report_samples with its columns, in sampleRow's order.
const sampleTable = `report_samples (tenant_id, conversation_id, kind, number_id, team_id, agent_id,
started_at, at, ms, business_ms, breached, business_breached, handled)`

func sampleRow(tenantID string, s sample) []any {
	return []any{tenantID, s.conversationID, s.kind, s.dims.number, s.dims.team, s.dims.agent, s.startedAt.UnixMilli(),
		s.at.UnixMilli(), s.ms, s.businessMs, b2i(s.breached), b2i(s.businessBreach), b2i(s.handled)}
}

// packKey names a row of report_histogram_packs: one histogram of one kind
// for one key over one local day.
type packKey struct {
	dim, kind string
	day       int64
	dimID     string
}

// packsPerStatement bounds the packs locked and written by one statement.
const packsPerStatement = 200

// addPacks adds delta (bin → samples, per pack) to the packs. Each pack is
// first locked and read by a no-op upsert (RETURNING its bins: a
// concurrent writer waits for this transaction), then written back whole.
func addPacks(ctx context.Context, db execer, tenantID string, delta map[packKey]map[int]int64) error {
	keys := make([]packKey, 0, len(delta))
	for k := range delta {
		keys = append(keys, k)
	}
	// One order for every writer: two transactions lock shared packs in
	// the same order, so they wait for each other instead of deadlocking.
	slices.SortFunc(keys, func(a, b packKey) int {
		return cmp.Or(strings.Compare(a.dim, b.dim), strings.Compare(a.kind, b.kind), cmp.Compare(a.day, b.day), strings.Compare(a.dimID, b.dimID))
	})
	for len(keys) > 0 {
		chunk := keys[:min(packsPerStatement, len(keys))]
		keys = keys[len(chunk):]
		var q strings.Builder
		q.WriteString("INSERT INTO report_histogram_packs (tenant_id, dim, kind, day, dim_id, bins) VALUES ")
		args := []any{tenantID}
		for i, k := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($1, $%d, $%d, %d, $%d, '')", n+1, n+2, k.day, n+3)
			args = append(args, k.dim, k.kind, k.dimID)
		}
		q.WriteString(` ON CONFLICT (tenant_id, dim, kind, day, dim_id) DO UPDATE SET bins = report_histogram_packs.bins
RETURNING dim, kind, day, dim_id, bins`)
		rows, err := db.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return fmt.Errorf("report: lock histograms: %w", err)
		}
		current := map[packKey]string{}
		for rows.Next() {
			var k packKey
			var bins string
			if err := rows.Scan(&k.dim, &k.kind, &k.day, &k.dimID, &bins); err != nil {
				rows.Close()
				return err
			}
			current[k] = bins
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("report: lock histograms: %w", err)
		}
		out := make([][]any, 0, len(chunk))
		for _, k := range chunk {
			h, err := parseBins(current[k])
			if err != nil {
				return fmt.Errorf("report: histogram %v: %w", k, err)
			}
			for b, n := range delta[k] {
				h[b] += n
			}
			out = append(out, []any{tenantID, k.dim, k.kind, k.day, k.dimID, formatBins(h)})
		}
		if err := bulk.Insert(ctx, db, "report_histogram_packs (tenant_id, dim, kind, day, dim_id, bins)", out,
			" ON CONFLICT (tenant_id, dim, kind, day, dim_id) DO UPDATE SET bins = excluded.bins"); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return nil
}

// parseBins reads a pack's bins: "bin:n" pairs separated by spaces.
func parseBins(s string) (map[int]int64, error) {
	h := map[int]int64{}
	return h, eachBin(s, func(b int, n int64) { h[b] += n })
}

// eachBin calls fn with each bin of a pack, without allocating.
func eachBin(s string, fn func(bin int, n int64)) error {
	for len(s) > 0 {
		pair := s
		if i := strings.IndexByte(s, ' '); i >= 0 {
			pair, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		colon := strings.IndexByte(pair, ':')
		if colon < 0 {
			return fmt.Errorf("bad pair %q", pair)
		}
		b, err1 := strconv.Atoi(pair[:colon])
		n, err2 := strconv.ParseInt(pair[colon+1:], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		fn(b, n)
	}
	return nil
}

// formatBins writes a histogram's non-zero bins in order.
func formatBins(h map[int]int64) string {
	bins := make([]int, 0, len(h))
	for b, n := range h {
		if n != 0 {
			bins = append(bins, b)
		}
	}
	slices.Sort(bins)
	var out strings.Builder
	for i, b := range bins {
		if i > 0 {
			out.WriteByte(' ')
		}
		out.WriteString(strconv.Itoa(b))
		out.WriteByte(':')
		out.WriteString(strconv.FormatInt(h[b], 10))
	}
	return out.String()
}
