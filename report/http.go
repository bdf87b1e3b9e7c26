package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/viewer"
)

// CSVHeader is the first line of a report exported as CSV: a row per bucket
// per key ("bucket"), then a row per key over the whole range ("total").
var CSVHeader = []string{
	"row", "start", "end", "key", "opened", "resolved", "reopened", "messages_in", "messages_out", "handled",
	"first_response_breaches",
	"first_response_count", "first_response_mean_s", "first_response_p50_s", "first_response_p90_s",
	"response_count", "response_mean_s", "response_p50_s", "response_p90_s",
	"resolution_count", "resolution_mean_s", "resolution_p50_s", "resolution_p90_s",
	"first_response_target_s", "online_s", "away_s",
}

// Handler serves GET /export/report?from=…&to=…&bucket=…&dimension=…&businessHours=true
// as CSV, behind the auth middleware: report.export, and the viewer's scope
// (Scope). Every export is audited (report.export) with its SHA-256, which
// the response also carries in X-Report-Sha256.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			apperr.WriteMethodNotAllowed(w, http.MethodGet)
			return
		}
		ctx := r.Context()
		if viewer.FromContext(ctx) == nil {
			apperr.WriteHTTP(w, apperr.New(apperr.Unauthenticated, "sign in first: Authorization: Bearer <token>"))
			return
		}
		if !policy.Can(ctx, policy.ReportExport) {
			apperr.WriteHTTP(w, apperr.New(apperr.Forbidden, "your role may not export reports (report.export)"))
			return
		}
		p := r.URL.Query()
		q := Query{From: p.Get("from"), To: p.Get("to"), Bucket: Bucket(p.Get("bucket")), Dimension: Dimension(p.Get("dimension"))}
		if q.Bucket == "" {
			q.Bucket = Day
		}
		if q.Dimension == "" {
			q.Dimension = Tenant
		}
		if v := p.Get("businessHours"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				apperr.WriteHTTP(w, apperr.Invalid("businessHours", "must be true or false"))
				return
			}
			q.BusinessHours = b
		}
		q, err := Scope(ctx, q)
		if err != nil {
			apperr.WriteHTTP(w, err)
			return
		}
		if d := policy.FromContext(ctx); d != nil && d.Field("Query", "report") != policy.Allow {
			apperr.WriteHTTP(w, apperr.New(apperr.Forbidden, "your role may not read Query.report"))
			return
		}
		body, rows, err := s.csv(ctx, q)
		if err != nil {
			apperr.WriteHTTP(w, err)
			return
		}
		sum := sha256.Sum256(body)
		digest := hex.EncodeToString(sum[:])
		if err := s.recordExport(ctx, q, rows, digest); err != nil {
			apperr.WriteHTTP(w, err)
			return
		}
		name := fmt.Sprintf("report-%s-%s-%s-%s.csv", q.From, q.To, q.Bucket, q.Dimension)
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Report-Sha256", digest)
		_, _ = w.Write(body)
	})
}

// csv runs q and writes it as CSV; rows counts the lines after the header.
// The field rules of the viewer's roles apply as they do to the API's
// Report, ReportRow and ReportDurations (Report.* is a coordinate a tenant
// may rule on): a column the role may not read is empty, a masked key is
// masked, and the rows of a list the role may not read are left out.
func (s *Service) csv(ctx context.Context, q Query) ([]byte, int, error) {
	rep, err := s.Run(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	f := csvFields{policy.FromContext(ctx)}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write(CSVHeader)
	n := 0
	write := func(kind string, r Row) {
		n++
		line := []string{kind}
		text := func(field, v string) {
			switch f.effect(rowType, field) {
			case policy.Allow:
				line = append(line, v)
			case policy.Mask:
				line = append(line, policy.Redact(policy.Coordinate{Type: rowType, Field: field}, v))
			default:
				line = append(line, "")
			}
		}
		// Masked numbers cannot be redacted: like the API, they are denied.
		number := func(field, v string) {
			if f.effect(rowType, field) == policy.Allow {
				line = append(line, v)
			} else {
				line = append(line, "")
			}
		}
		text("start", r.Start.Format(time.RFC3339))
		text("end", r.End.Format(time.RFC3339))
		text("key", r.Key)
		for i, v := range []int{r.Opened, r.Resolved, r.Reopened, r.MessagesIn, r.MessagesOut, r.Handled, r.FirstResponseBreaches} {
			number(countFields[i], strconv.Itoa(v))
		}
		for i, d := range []Durations{r.FirstResponse, r.Response, r.Resolution} {
			shown := f.effect(rowType, durationFields[i]) == policy.Allow
			for j, v := range []string{strconv.Itoa(d.Count), seconds(d.Mean), seconds(d.P50), seconds(d.P90)} {
				if shown && f.effect(durationsType, durationParts[j]) == policy.Allow {
					line = append(line, v)
				} else {
					line = append(line, "")
				}
			}
		}
		target := ""
		if r.FirstResponseTargetSeconds != nil {
			target = strconv.Itoa(*r.FirstResponseTargetSeconds)
		}
		number("firstResponseTargetSeconds", target)
		number("onlineSeconds", strconv.Itoa(r.OnlineSeconds))
		number("awaySeconds", strconv.Itoa(r.AwaySeconds))
		_ = cw.Write(line)
	}
	if f.effect(reportType, "buckets") == policy.Allow {
		for _, r := range rep.Buckets {
			write("bucket", r)
		}
	}
	if f.effect(reportType, "totals") == policy.Allow {
		for _, r := range rep.Totals {
			write("total", r)
		}
	}
	cw.Flush()
	return buf.Bytes(), n, cw.Error()
}

// The GraphQL coordinates of the CSV's columns, in CSVHeader's order.
const (
	reportType    = "Report"
	rowType       = "ReportRow"
	durationsType = "ReportDurations"
)

var (
	countFields    = []string{"opened", "resolved", "reopened", "messagesIn", "messagesOut", "handled", "firstResponseBreaches"}
	durationFields = []string{"firstResponse", "response", "resolution"}
	durationParts  = []string{"count", "mean", "p50", "p90"}
)

// csvFields answers the field rules of d (everything allowed without
// decisions: the system's exports).
type csvFields struct{ d *policy.Decisions }

func (f csvFields) effect(typ, field string) policy.Effect {
	if f.d == nil {
		return policy.Allow
	}
	return f.d.Field(typ, field)
}

func seconds(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', 3, 64)
}

func (s *Service) recordExport(ctx context.Context, q Query, rows int, digest string) error {
	ctx = context.WithoutCancel(ctx)
	tx, err := s.client.Tx(ctx)
	if err != nil {
		return err
	}
	scope := "everyone"
	if q.OwnAgentID != "" {
		scope = "own figures of " + q.OwnAgentID
	}
	err = audit.Record(ctx, tx, audit.Event{
		Action: audit.ActionReportExported,
		Summary: fmt.Sprintf("exported the report %s to %s by %s per %s (business hours: %v, %s) as CSV, %d rows, sha256 %s",
			q.From, q.To, q.Bucket, q.Dimension, q.BusinessHours, scope, rows, digest),
		After: map[string]any{"from": q.From, "to": q.To, "bucket": q.Bucket, "dimension": q.Dimension,
			"businessHours": q.BusinessHours, "ownAgentID": q.OwnAgentID, "rows": rows, "sha256": digest},
	})
	if err != nil {
		return errors.Join(err, tx.Rollback())
	}
	return tx.Commit()
}
