package broadcast

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/attachment"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	entbroadcast "github.com/switchboard-dev/switchboard/ent/broadcast"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/view"
	"github.com/switchboard-dev/switchboard/viewer"
)

// ActionOutcomesExported audits an export of a broadcast's outcomes.
const ActionOutcomesExported = "broadcast.outcomes_export"

// OutcomesColumns is the header of a broadcast's outcomes as CSV.
var OutcomesColumns = []string{"recipient_id", "contact_id", "wa_id", "number_id", "outcome", "skip_reason", "error_code",
	"pricing_category", "billable", "sent_at", "delivered_at", "read_at", "replied_at"}

// ExportOutcomes writes a broadcast's outcomes as CSV to w, one row per
// recipient in dispatch order, a page of recipients at a time, as the viewer of ctx may read them (with
// broadcast.view_stats; wa_id under the field rules of Contact.waID: a
// masked phone stays masked), and audits the export once it ends, also
// when it fails half way, with the rows and the SHA-256 of what was written,
// which it returns. ctx must carry the viewer's decisions.
func (s *Service) ExportOutcomes(ctx context.Context, broadcastID string, w io.Writer) (rows int, sha256 string, err error) {
	if viewer.FromContext(ctx) == nil {
		return 0, "", apperr.New(apperr.Unauthenticated, "sign in first: Authorization: Bearer <token>")
	}
	if !policy.Can(ctx, policy.BroadcastViewStats) {
		return 0, "", apperr.New(apperr.Forbidden, "your role may not see broadcasts (broadcast.view_stats)")
	}
	dec := policy.FromContext(ctx)
	if dec == nil {
		return 0, "", apperr.New(apperr.Forbidden, "an export runs as a person or an API key, under their field rules")
	}
	if _, err := s.client.Broadcast.Query().Where(entbroadcast.ID(broadcastID)).OnlyID(ctx); err != nil {
		if ent.IsNotFound(err) {
			return 0, "", apperr.New(apperr.NotFound, "no broadcast %s", broadcastID)
		}
		return 0, "", err
	}
	d := attachment.NewDigest(w)
	bw := bufio.NewWriterSize(d, 64<<10)
	cw := csv.NewWriter(bw)
	stamp := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	err = cw.Write(OutcomesColumns)
	if err == nil {
		err = s.EachOutcome(ctx, broadcastID, func(r Row) error {
			code := ""
			if r.ErrorCode != 0 {
				code = strconv.Itoa(r.ErrorCode)
			}
			waID := attachment.Cell(view.Cut(dec, "Contact", map[string]any{"waID": r.WaID})["waID"])
			if err := cw.Write([]string{r.RecipientID, r.ContactID, waID, r.NumberID, r.Outcome, r.SkipReason, code,
				r.PricingCategory, strconv.FormatBool(r.Billable), stamp(r.SentAt), stamp(r.DeliveredAt), stamp(r.ReadAt), stamp(r.RepliedAt)}); err != nil {
				return err
			}
			rows++
			return nil
		})
	}
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	sha256 = d.SHA256()
	if aerr := s.recordOutcomesExport(ctx, broadcastID, rows, d.Bytes(), sha256, err); aerr != nil && err == nil {
		err = aerr
	}
	return rows, sha256, err
}

func (s *Service) recordOutcomesExport(ctx context.Context, broadcastID string, rows int, size int64, sha256 string, failed error) error {
	ctx = context.WithoutCancel(ctx)
	summary := fmt.Sprintf("exported the outcomes of broadcast %s as CSV: %d recipients, %d bytes, sha256 %s", broadcastID, rows, size, sha256)
	if failed != nil {
		summary = "interrupted: " + summary
	}
	return store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		return audit.Record(ctx, tx, audit.Event{Action: ActionOutcomesExported, Summary: summary,
			After: map[string]any{"broadcast": broadcastID, "rows": rows, "sha256": sha256}})
	})
}

// OutcomesHandler serves GET /broadcasts/{id}/outcomes.csv behind the auth
// middleware: ExportOutcomes, streamed, closed by the X-Export-Sha256 trailer.
func (s *Service) OutcomesHandler(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/broadcasts/"), "/outcomes.csv")
		if !ok || id == "" || strings.Contains(id, "/") {
			apperr.WriteHTTP(w, apperr.New(apperr.NotFound, "no such path: GET /broadcasts/{id}/outcomes.csv"))
			return
		}
		f := attachment.File{Name: "broadcast-" + id + "-outcomes-" + attachment.Stamp(time.Now()) + ".csv", Type: "text/csv; charset=utf-8"}
		attachment.Serve(w, r, log, f, func(w io.Writer) (string, error) {
			_, sum, err := s.ExportOutcomes(r.Context(), id, w)
			return sum, err
		})
	})
}
