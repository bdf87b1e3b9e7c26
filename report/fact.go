package report

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/hours"
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
// hours and its first-response target, read once per write.
type tenantClock struct {
	id       string
	loc      *time.Location
	hours    hours.Hours
	hasHours bool
	targetMs int64
}

func readTenant(ctx context.Context, c *ent.Client, id string) (tenantClock, error) {
	t, err := c.Tenant.Get(ctx, id)
	if err != nil {
		return tenantClock{}, fmt.Errorf("report: tenant %s: %w", id, err)
	}
	return newTenantClock(t)
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
		s.breached, s.businessBreach = s.ms > tc.targetMs, s.businessMs > tc.targetMs
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
// seconds: report_histograms' day.
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

// addCounts adds c (or takes it away, sign -1) to every dimension row of
// the local hour holding at.
func addCounts(ctx context.Context, db execer, tc tenantClock, at time.Time, d dims, c counts, sign int64) error {
	rows := d.rows()
	vals := c.fields()
	var q strings.Builder
	q.WriteString("INSERT INTO report_counts (tenant_id, dim, slot, dim_id, " + strings.Join(countColumns, ", ") + ") VALUES ")
	args := make([]any, 0, len(rows)*(4+len(vals)))
	slot := localHour(at, tc.loc)
	for i, r := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(")
		for j := range 4 + len(vals) {
			if j > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "$%d", len(args)+j+1)
		}
		q.WriteString(")")
		args = append(args, tc.id, r[0], slot, r[1])
		for _, v := range vals {
			args = append(args, sign**v)
		}
	}
	q.WriteString(" ON CONFLICT (tenant_id, dim, slot, dim_id) DO UPDATE SET ")
	for i, col := range countColumns {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "%s = report_counts.%s + excluded.%s", col, col, col)
	}
	if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("report: counts: %w", err)
	}
	return nil
}

// addSamples records samples (sign 1) or takes them back (sign -1): their
// rows, their counts and their histogram bins.
func addSamples(ctx context.Context, db execer, tc tenantClock, samples []sample, sign int64) error {
	for _, s := range samples {
		if sign > 0 {
			if _, err := db.ExecContext(ctx, `INSERT INTO report_samples (tenant_id, conversation_id, kind, number_id, team_id, agent_id,
started_at, at, ms, business_ms, breached, business_breached, handled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
				tc.id, s.conversationID, s.kind, s.dims.number, s.dims.team, s.dims.agent, s.startedAt.UnixMilli(), s.at.UnixMilli(),
				s.ms, s.businessMs, b2i(s.breached), b2i(s.businessBreach), b2i(s.handled)); err != nil {
				return fmt.Errorf("report: sample: %w", err)
			}
		}
		if err := addCounts(ctx, db, tc, s.at, s.dims, s.counts(), sign); err != nil {
			return err
		}
		if err := addBins(ctx, db, tc, s, sign); err != nil {
			return err
		}
	}
	return nil
}

func addBins(ctx context.Context, db execer, tc tenantClock, s sample, sign int64) error {
	var q strings.Builder
	q.WriteString("INSERT INTO report_histograms (tenant_id, dim, day, kind, dim_id, bin, n) VALUES ")
	var args []any
	day := localDay(s.at, tc.loc)
	for _, variant := range [][2]any{{s.kind, binOf(s.ms)}, {s.kind + businessSuffix, binOf(s.businessMs)}} {
		for _, r := range s.dims.rows() {
			if len(args) > 0 {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
			args = append(args, tc.id, r[0], day, variant[0], r[1], variant[1], sign)
		}
	}
	q.WriteString(" ON CONFLICT (tenant_id, dim, day, kind, dim_id, bin) DO UPDATE SET n = report_histograms.n + excluded.n")
	if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("report: histogram: %w", err)
	}
	return nil
}
