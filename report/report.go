// Package report answers reports: conversations opened, resolved and
// reopened, messages in and out, first response, response and resolution
// times (mean, p50, p90, optionally counting only opening hours), SLA
// breaches and conversations handled, over a range of days in the tenant's
// time zone, by hour, day or week, for the tenant or per number, team or
// agent.
//
// Reports never read messages. Hooks (ent/schema/report.go) keep facts in
// the transaction of each write (fact.go, track.go): one sample row per
// first response, response and resolution (report_samples, the exact
// figures), additive counts and sums per local hour and dimension
// (report_counts) and duration histograms per local day (report_histogram_packs),
// so a month's report over a million messages reads a few thousand rows.
// The hooks append the counts and bins as deltas (report_deltas: a tenant's
// rows are shared by all its messages and must not be locked by each), and
// every instance folds them into the rows every second (fold.go); reports
// read the rows and the pending deltas in one statement.
// Means and counts are exact; percentiles are exact to the second under a
// minute and within 5 % above (binOf).
package report

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Bucket is the length of a report's rows.
type Bucket string

// Buckets.
const (
	Hour Bucket = "HOUR"
	Day  Bucket = "DAY"
	Week Bucket = "WEEK" // Monday to Sunday
)

// Dimension is what a report's rows are broken down by.
type Dimension string

// Dimensions.
const (
	Tenant Dimension = "TENANT"
	Number Dimension = "NUMBER"
	Team   Dimension = "TEAM"
	Agent  Dimension = "AGENT"
)

// Longest ranges, in days: an hourly report reads samples, not rollups.
const (
	maxHourDays = 7
	maxDays     = 400
)

// Query asks for a report.
type Query struct {
	// From and To are the first and last days, "2006-01-02", in the
	// tenant's time zone (both included).
	From, To  string
	Bucket    Bucket
	Dimension Dimension
	// BusinessHours counts durations only while the business is open (the
	// tenant's opening hours; all the time when it has none).
	BusinessHours bool
	// OwnAgentID restricts the report to one agent's own figures
	// (report.view_own): by agent, or that agent's by number.
	OwnAgentID string
}

// Durations are the mean and percentiles of a kind of duration, in seconds;
// nil when Count is 0.
type Durations struct {
	Count          int
	Mean, P50, P90 *float64
}

// Row is the figures of one key over one bucket (or the whole range).
type Row struct {
	Start, End time.Time
	// Key is the number, team or agent id; "" for the tenant, and for what
	// no team or no agent had.
	Key                                                 string
	Opened, Resolved, Reopened, MessagesIn, MessagesOut int
	Handled, FirstResponseBreaches                      int
	// FirstResponseTargetSeconds is, by number, the number's target today
	// (its own, else the tenant's); nil otherwise.
	FirstResponseTargetSeconds *int
	// OnlineSeconds and AwaySeconds are an agent's time in each presence
	// (by agent; all agents' by tenant), clipped to the row's range.
	OnlineSeconds, AwaySeconds          int
	FirstResponse, Response, Resolution Durations
}

// Report is the answer to a Query.
type Report struct {
	Query
	Start, End                 time.Time
	Location                   *time.Location
	TimeZone                   string
	FirstResponseTargetSeconds int
	// Buckets holds a row per bucket per key, in time then key order; Totals
	// a row per key over the whole range.
	Buckets, Totals []Row
}

// Service answers reports from the facts.
type Service struct {
	client *ent.Client
	clock  clock.Clock // where an open presence interval ends
}

// NewService reads reports through client.
func NewService(client *ent.Client, clk clock.Clock) *Service {
	return &Service{client: client, clock: clk}
}

// Run answers q for the viewer's tenant.
func (s *Service) Run(ctx context.Context, q Query) (*Report, error) {
	tenantID := viewer.FromContext(ctx).TenantID
	t, err := s.client.Tenant.Get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	tc, err := newTenantClock(t)
	if err != nil {
		return nil, err
	}
	if err := tc.readTargets(ctx, s.client); err != nil {
		return nil, err
	}
	r := &Report{Query: q, Location: tc.loc, TimeZone: tc.loc.String(), FirstResponseTargetSeconds: t.Settings.FirstResponseTargetSeconds()}
	bounds, err := r.plan(tc.loc)
	if err != nil {
		return nil, err
	}
	dim, filter, err := r.source()
	if err != nil {
		return nil, err
	}
	acc := newAccumulator(len(bounds) - 1)
	if err := s.readCounts(ctx, tenantID, dim, filter, bounds, acc, tc.loc, q.Bucket == Hour); err != nil {
		return nil, err
	}
	if q.Bucket == Hour {
		err = s.readSamples(ctx, tenantID, filter, bounds, acc, r)
	} else {
		err = s.readHistograms(ctx, tenantID, dim, filter, bounds, acc, r)
	}
	if err != nil {
		return nil, err
	}
	if err := s.readPresence(ctx, tenantID, dim, filter, bounds, acc); err != nil {
		return nil, err
	}
	r.Buckets, r.Totals = acc.rows(bounds, r.BusinessHours)
	if dim == dimNumber || dim == dimAgentNumber {
		r.targets(tc)
	}
	return r, nil
}

// plan checks the query and returns the bucket boundaries, in Unix seconds:
// bucket i is [bounds[i], bounds[i+1]).
func (r *Report) plan(loc *time.Location) ([]int64, error) {
	from, err1 := time.ParseInLocation(time.DateOnly, r.From, loc)
	to, err2 := time.ParseInLocation(time.DateOnly, r.To, loc)
	switch {
	case err1 != nil:
		return nil, apperr.Invalid("from", "from must be a day, YYYY-MM-DD, not %q", r.From)
	case err2 != nil:
		return nil, apperr.Invalid("to", "to must be a day, YYYY-MM-DD, not %q", r.To)
	case to.Before(from):
		return nil, apperr.Invalid("to", "to (%s) comes before from (%s)", r.To, r.From)
	}
	days := int(to.Sub(from).Hours()/24+0.5) + 1
	switch {
	case r.Bucket == Hour && days > maxHourDays:
		return nil, apperr.Invalid("bucket", "hourly reports cover at most %d days, not %d", maxHourDays, days)
	case days > maxDays:
		return nil, apperr.Invalid("to", "reports cover at most %d days, not %d", maxDays, days)
	}
	r.Start = from
	r.End = time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc)
	bounds := []int64{r.Start.Unix()}
	switch r.Bucket {
	case Hour: // local hours are 3,600 s apart in every zone today
		for t := r.Start.Add(time.Hour); t.Before(r.End); t = t.Add(time.Hour) {
			bounds = append(bounds, t.Unix())
		}
	case Day, Week:
		for d := 1; d < days; d++ {
			next := time.Date(from.Year(), from.Month(), from.Day()+d, 0, 0, 0, 0, loc)
			if r.Bucket == Day || next.Weekday() == time.Monday {
				bounds = append(bounds, next.Unix())
			}
		}
	default:
		return nil, apperr.Invalid("bucket", "bucket must be HOUR, DAY or WEEK, not %q", r.Bucket)
	}
	return append(bounds, r.End.Unix()), nil
}

// filter narrows the rows of a dimension to some keys.
type filter struct {
	column string // the samples' column that holds the key
	// exact: only this dim_id; prefix: dim_ids that start with it (the
	// key is what follows).
	exact, prefix string
	agentID       string // samples: only this agent's
}

// source is the dimension rows a report reads, and how it narrows them.
func (r *Report) source() (string, filter, error) {
	if id := r.OwnAgentID; id != "" {
		switch r.Dimension {
		case Tenant, Agent:
			return dimAgent, filter{column: "agent_id", exact: id, agentID: id}, nil
		case Number:
			return dimAgentNumber, filter{column: "number_id", prefix: agentNumber(id, ""), agentID: id}, nil
		}
		return "", filter{}, apperr.New(apperr.Forbidden, "report.view_all is needed to see figures by team")
	}
	switch r.Dimension {
	case Tenant:
		return dimTenant, filter{}, nil
	case Number:
		return dimNumber, filter{column: "number_id"}, nil
	case Team:
		return dimTeam, filter{column: "team_id"}, nil
	case Agent:
		return dimAgent, filter{column: "agent_id"}, nil
	}
	return "", filter{}, apperr.Invalid("dimension", "dimension must be TENANT, NUMBER, TEAM or AGENT, not %q", r.Dimension)
}

// where is the dim_id condition of f, numbered from n.
func (f filter) where(n int) (string, []any) {
	switch {
	case f.exact != "":
		return fmt.Sprintf(" AND dim_id = $%d", n), []any{f.exact}
	case f.prefix != "":
		// every id is printable ASCII: the prefix's range ends at the next byte
		end := f.prefix[:len(f.prefix)-1] + string(f.prefix[len(f.prefix)-1]+1)
		return fmt.Sprintf(" AND dim_id >= $%d AND dim_id < $%d", n, n+1), []any{f.prefix, end}
	}
	return "", nil
}

func (f filter) key(dimID string) string {
	if f.prefix != "" {
		return strings.TrimPrefix(dimID, f.prefix)
	}
	return dimID
}

// readCounts reads the counts of the range: the day-long rows from the
// first day they are whole (dailySince), hourly rows before it and for
// hourly reports.
func (s *Service) readCounts(ctx context.Context, tenantID, dim string, f filter, bounds []int64, acc *accumulator, loc *time.Location, hourly bool) error {
	start, end := bounds[0], bounds[len(bounds)-1]
	split := end
	if !hourly {
		since, err := s.dailySince(ctx, tenantID, loc)
		if err != nil {
			return err
		}
		split = max(start, min(end, since))
	}
	if split < end {
		if err := s.readCountRows(ctx, tenantID, daily(dim), f, split, end, bounds, acc); err != nil {
			return err
		}
	}
	if start < split {
		return s.readCountRows(ctx, tenantID, dim, f, start, split, bounds, acc)
	}
	return nil
}

// dailySince is the first local midnight from which the day-long counts
// are whole: they came with migration 0023, which noted in report_rollups,
// for each tenant that existed then, an instant two days after it ran (old
// instances may still write for a while); 0 for the others.
func (s *Service) dailySince(ctx context.Context, tenantID string, loc *time.Location) (int64, error) {
	rows, err := s.client.QueryContext(ctx, `SELECT day_counts_since FROM report_rollups WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return 0, fmt.Errorf("report: rollups: %w", err)
	}
	defer rows.Close()
	var since int64
	if rows.Next() {
		if err := rows.Scan(&since); err != nil {
			return 0, err
		}
	}
	if err := rows.Err(); err != nil || since == 0 {
		return 0, err
	}
	if day := localDay(time.Unix(since, 0), loc); day < since {
		t := time.Unix(day, 0).In(loc)
		since = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc).Unix()
	}
	return since, nil
}

func (s *Service) readCountRows(ctx context.Context, tenantID, dim string, f filter, from, to int64, bounds []int64, acc *accumulator) error {
	cond, extra := f.where(5)
	cols := strings.Join(countColumns, ", ")
	slot, base := "hour", dim
	if b, ok := strings.CutSuffix(dim, daily("")); ok {
		slot, base = "day", b
	}
	rows, err := s.client.QueryContext(ctx, `SELECT slot, dim_id, `+cols+
		` FROM report_counts WHERE tenant_id = $1 AND dim = $2 AND slot >= $3 AND slot < $4`+cond+`
UNION ALL SELECT slot, dim_id, `+cols+` FROM (SELECT `+slot+` AS slot, `+deltaDimID(base)+` AS dim_id, `+cols+
		` FROM report_deltas WHERE tenant_id = $1`+deltaDimCond(base)+`) d WHERE slot >= $3 AND slot < $4`+cond,
		append([]any{tenantID, dim, from, to}, extra...)...)
	if err != nil {
		return fmt.Errorf("report: counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var slot int64
		var dimID string
		var c counts
		dst := []any{&slot, &dimID}
		for _, p := range c.fields() {
			dst = append(dst, p)
		}
		if err := rows.Scan(dst...); err != nil {
			return err
		}
		acc.at(bucketOf(bounds, slot), f.key(dimID)).counts.add(c)
	}
	return rows.Err()
}

// deltaDimID is the expression of a report_deltas row's key in dimension
// dim (not a day-long one), and deltaDimCond the condition of the rows that
// count in it: an agent × number key only when there is an agent (as
// dims.rows).
func deltaDimID(dim string) string {
	switch dim {
	case dimNumber:
		return "number_id"
	case dimTeam:
		return "team_id"
	case dimAgent:
		return "agent_id"
	case dimAgentNumber:
		return "agent_id || ' ' || number_id"
	}
	return "''"
}

func deltaDimCond(dim string) string {
	if dim == dimAgentNumber {
		return " AND agent_id <> ''"
	}
	return ""
}

func (s *Service) readHistograms(ctx context.Context, tenantID, dim string, f filter, bounds []int64, acc *accumulator, r *Report) error {
	suffix := ""
	if r.BusinessHours {
		suffix = businessSuffix
	}
	cond, extra := f.where(8)
	bin := "bin"
	if r.BusinessHours {
		bin = "business_bin"
	}
	rows, err := s.client.QueryContext(ctx, `SELECT day, dim_id, kind, bins FROM report_histogram_packs
WHERE tenant_id = $1 AND dim = $2 AND kind IN ($5, $6, $7) AND day >= $3 AND day < $4`+cond+`
UNION ALL SELECT day, dim_id, kind, bins FROM (SELECT day, `+deltaDimID(dim)+` AS dim_id, kind || '`+suffix+`' AS kind,
CAST(`+bin+` AS TEXT) || ':' || CAST(n AS TEXT) AS bins FROM report_deltas WHERE tenant_id = $1 AND kind <> ''`+deltaDimCond(dim)+`) d
WHERE kind IN ($5, $6, $7) AND day >= $3 AND day < $4`+cond,
		append([]any{tenantID, dim, bounds[0], bounds[len(bounds)-1], KindFirstResponse + suffix, KindResponse + suffix, KindResolution + suffix}, extra...)...)
	if err != nil {
		return fmt.Errorf("report: histograms: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day int64
		var dimID, kind, bins string
		if err := rows.Scan(&day, &dimID, &kind, &bins); err != nil {
			return err
		}
		k := kindIndex(strings.TrimSuffix(kind, suffix))
		if k < 0 {
			return fmt.Errorf("report: histogram of %s on %d: kind %q", dimID, day, kind)
		}
		h := &acc.at(bucketOf(bounds, day), f.key(dimID)).hist[k]
		if err := eachBin(bins, h.add); err != nil {
			return fmt.Errorf("report: histogram of %s on %d: %w", dimID, day, err)
		}
	}
	return rows.Err()
}

// readSamples builds the histograms of an hourly report from its samples
// (at most a week's).
func (s *Service) readSamples(ctx context.Context, tenantID string, f filter, bounds []int64, acc *accumulator, r *Report) error {
	keyColumn := "''"
	if f.column != "" {
		keyColumn = f.column
	}
	q := `SELECT at, kind, ` + keyColumn + `, ms, business_ms FROM report_samples WHERE tenant_id = $1 AND at >= $2 AND at < $3`
	args := []any{tenantID, bounds[0] * 1000, bounds[len(bounds)-1] * 1000}
	if f.agentID != "" {
		q += " AND agent_id = $4"
		args = append(args, f.agentID)
	}
	rows, err := s.client.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("report: samples: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var at, ms, bms int64
		var kind, key string
		if err := rows.Scan(&at, &kind, &key, &ms, &bms); err != nil {
			return err
		}
		if r.BusinessHours {
			ms = bms
		}
		if k := kindIndex(kind); k >= 0 {
			acc.at(bucketOf(bounds, floorDiv(at, 1000)), key).hist[k].add(binOf(ms), 1)
		}
	}
	return rows.Err()
}

func floorDiv(a, b int64) int64 { return (a - mod(a, b)) / b }

// bucketOf is the bucket holding instant u (Unix seconds).
func bucketOf(bounds []int64, u int64) int {
	return sort.Search(len(bounds), func(i int) bool { return bounds[i] > u }) - 1
}

// cell gathers one key's figures over one bucket.
type cell struct {
	counts           counts
	onlineMs, awayMs int64
	hist             [len(histKinds)]hist
}

func (c *cell) merge(o *cell) {
	c.counts.add(o.counts)
	c.onlineMs += o.onlineMs
	c.awayMs += o.awayMs
	for k, h := range o.hist {
		c.hist[k].merge(h)
	}
}

type accumulator struct {
	cells []map[string]*cell // bucket → key → cell
}

func newAccumulator(buckets int) *accumulator {
	a := &accumulator{cells: make([]map[string]*cell, buckets)}
	for i := range a.cells {
		a.cells[i] = map[string]*cell{}
	}
	return a
}

func (a *accumulator) at(bucket int, key string) *cell {
	c := a.cells[bucket][key]
	if c == nil {
		c = &cell{}
		a.cells[bucket][key] = c
	}
	return c
}

// rows lays the cells out: every key that has figures anywhere in the range
// gets a row in every bucket (zeros included), in key order.
func (a *accumulator) rows(bounds []int64, business bool) (buckets, totals []Row) {
	keySet := map[string]bool{}
	for _, b := range a.cells {
		for k := range b {
			keySet[k] = true
		}
	}
	keys := make([]string, 0, len(keySet))
	for k := range keySet {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	whole := map[string]*cell{}
	for i, b := range a.cells {
		for _, k := range keys {
			c := b[k]
			if c == nil {
				c = &cell{}
			}
			if whole[k] == nil {
				whole[k] = &cell{}
			}
			whole[k].merge(c)
			buckets = append(buckets, c.row(k, bounds[i], bounds[i+1], business))
		}
	}
	for _, k := range keys {
		totals = append(totals, whole[k].row(k, bounds[0], bounds[len(bounds)-1], business))
	}
	return buckets, totals
}

func (c *cell) row(key string, start, end int64, business bool) Row {
	n := c.counts
	r := Row{
		OnlineSeconds: int(c.onlineMs / 1000), AwaySeconds: int(c.awayMs / 1000),
		Start: time.Unix(start, 0).UTC(), End: time.Unix(end, 0).UTC(), Key: key,
		Opened: int(n.Opened), Resolved: int(n.Resolved), Reopened: int(n.Reopened),
		MessagesIn: int(n.MessagesIn), MessagesOut: int(n.MessagesOut), Handled: int(n.Handled),
		FirstResponseBreaches: int(n.Breaches),
		FirstResponse:         durations(n.FirstResponses, n.FirstResponseMs, c.hist[histFirstResponse]),
		Response:              durations(n.Responses, n.ResponseMs, c.hist[histResponse]),
		Resolution:            durations(n.Resolutions, n.ResolutionMs, c.hist[histResolution]),
	}
	if business {
		r.FirstResponseBreaches = int(n.BusinessBreaches)
		r.FirstResponse = durations(n.FirstResponses, n.FirstResponseBusinessMs, c.hist[histFirstResponse])
		r.Response = durations(n.Responses, n.ResponseBusinessMs, c.hist[histResponse])
		r.Resolution = durations(n.Resolutions, n.ResolutionBusinessMs, c.hist[histResolution])
	}
	return r
}

func durations(count, sumMs int64, h hist) Durations {
	if count <= 0 {
		return Durations{}
	}
	mean := float64(sumMs) / float64(count) / 1000
	return Durations{Count: int(count), Mean: &mean, P50: h.percentile(50), P90: h.percentile(90)}
}

// Percentile is the figure a report gives as the p-th percentile of exact
// durations in milliseconds (nearest rank, to its histogram bin): what a
// recomputation from raw messages compares with.
func Percentile(ms []int64, p int64) *float64 {
	var h hist
	for _, v := range ms {
		h.add(binOf(v), 1)
	}
	return h.percentile(p)
}

// targets sets each number's row's first-response target in force today.
func (r *Report) targets(tc tenantClock) {
	for _, rows := range [][]Row{r.Buckets, r.Totals} {
		for i := range rows {
			if rows[i].Key != "" {
				s := int(tc.targetOf(rows[i].Key) / 1000)
				rows[i].FirstResponseTargetSeconds = &s
			}
		}
	}
}
