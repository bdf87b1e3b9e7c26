package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/auditevent"
	"github.com/switchboard-dev/switchboard/ent/conversationexport"
	"github.com/switchboard-dev/switchboard/ent/hook"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// brokenWriter is a client that leaves at the first byte: its request's
// context ends and the write fails.
type brokenWriter struct {
	*httptest.ResponseRecorder
	leave context.CancelFunc
}

func (w brokenWriter) Write([]byte) (int, error) {
	w.leave()
	return 0, errors.New("connection reset by peer")
}

// TestExportDownloadAudit: every download a signed link admits leaves, in
// the export's tenant and as its requester, a record before the first byte
// and one saying how it ended (sent whole: bytes and SHA-256; broken off:
// the error), with the client's address and user agent; a link this server
// signed that may no longer download is recorded as refused; a forged one
// writes nothing; a download that cannot be recorded is not served.
func TestExportDownloadAudit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setupJobs(t, db)
		// failAction, when set, is the audit action whose write fails.
		var failAction atomic.Value
		failAction.Store("")
		db.Client.AuditEvent.Use(func(next ent.Mutator) ent.Mutator {
			return hook.AuditEventFunc(func(ctx context.Context, m *ent.AuditEventMutation) (ent.Value, error) {
				if a, _ := m.Action(); a == failAction.Load() {
					return nil, errors.New("audit store unavailable")
				}
				return next.Mutate(ctx, m)
			})
		})
		handler := b.jobs.DownloadHandler(slog.New(slog.DiscardHandler))
		request := func(ctx context.Context, link string) *http.Request {
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, link, nil)
			r.RemoteAddr = "203.0.113.7:50123"
			r.Header.Set("User-Agent", "curl/8.5.0")
			r.Header.Set("X-Forwarded-For", "198.51.100.9") // written by the client: not believed
			return r
		}
		get := func(link string) *httptest.ResponseRecorder {
			t.Helper()
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, request(t.Context(), link))
			return rec
		}
		done := func(t *testing.T) *ent.ConversationExport {
			t.Helper()
			x, err := b.run(t, b.export(t, conversationexport.FormatJSONL))
			require.NoError(t, err)
			return x
		}
		events := func(t *testing.T, x *ent.ConversationExport) map[string][]*ent.AuditEvent {
			t.Helper()
			evs, err := db.Client.AuditEvent.Query().Where(auditevent.TargetID(x.ID)).
				Order(ent.Asc(auditevent.FieldSeq)).All(viewer.System(t.Context(), x.TenantID))
			require.NoError(t, err)
			out := map[string][]*ent.AuditEvent{}
			for _, e := range evs {
				require.Equal(t, b.ada.ID, e.ActorID, "%s: the link is the requester's", e.Action)
				require.Equal(t, x.TenantID, e.TenantID)
				require.Contains(t, e.Summary, "203.0.113.7", e.Action)
				require.Contains(t, e.Summary, "curl/8.5.0", e.Action)
				require.NotContains(t, e.Summary, "198.51.100.9", e.Action)
				out[e.Action] = append(out[e.Action], e)
			}
			return out
		}
		// onlyRefusal: x's audit holds one record, a refusal saying why.
		onlyRefusal := func(t *testing.T, x *ent.ConversationExport, why string) {
			t.Helper()
			evs := events(t, x)
			require.Len(t, evs, 1, "%v", evs)
			require.Len(t, evs[audit.ActionExportDownloadRefused], 1)
			require.Contains(t, evs[audit.ActionExportDownloadRefused][0].Summary, why)
		}
		downloadID := func(e *ent.AuditEvent) string {
			_, rest, _ := strings.Cut(e.Summary, "download ")
			id, _, _ := strings.Cut(rest, " ")
			return id
		}

		t.Run("a download is recorded before it starts and when it ends", func(t *testing.T) {
			x := done(t)
			rec := get(b.jobs.Link(x))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			sum := sha256.Sum256(rec.Body.Bytes())
			require.Equal(t, x.Sha256, hex.EncodeToString(sum[:]))

			evs := events(t, x)
			require.Len(t, evs, 2, "%v", evs)
			require.Len(t, evs[audit.ActionExportDownload], 1)
			require.Len(t, evs[audit.ActionExportDownloadEnd], 1)
			start, end := evs[audit.ActionExportDownload][0], evs[audit.ActionExportDownloadEnd][0]
			require.Less(t, start.Seq, end.Seq)
			require.Equal(t, downloadID(start), downloadID(end), "the end names the download it ends")
			require.Contains(t, end.Summary, fmt.Sprintf("sent whole: %d bytes, sha256 %s", x.Bytes, x.Sha256))

			report, err := audit.Verify(viewer.System(t.Context(), x.TenantID), db.Client)
			require.NoError(t, err)
			require.True(t, report.OK, "%+v", report)
		})

		t.Run("a download broken off is recorded with its error", func(t *testing.T) {
			x := done(t)
			ctx, leave := context.WithCancel(t.Context())
			w := brokenWriter{ResponseRecorder: httptest.NewRecorder(), leave: leave}
			require.PanicsWithValue(t, http.ErrAbortHandler, func() { handler.ServeHTTP(w, request(ctx, b.jobs.Link(x))) })

			evs := events(t, x)
			require.Len(t, evs[audit.ActionExportDownload], 1)
			require.Len(t, evs[audit.ActionExportDownloadEnd], 1, "recorded although the client left")
			end := evs[audit.ActionExportDownloadEnd][0]
			require.Contains(t, end.Summary, fmt.Sprintf("broken off after 0 of %d bytes: connection reset by peer", x.Bytes))
			require.NotContains(t, end.Summary, "sent whole")
		})

		t.Run("the user agent the client writes is cut", func(t *testing.T) {
			x := done(t)
			r := request(t.Context(), b.jobs.Link(x))
			r.Header.Set("User-Agent", strings.Repeat("x", 10_000))
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, r)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			evs, err := db.Client.AuditEvent.Query().Where(auditevent.TargetID(x.ID)).All(b.ctx)
			require.NoError(t, err)
			require.Len(t, evs, 2)
			for _, e := range evs {
				require.Less(t, len(e.Summary), 600, e.Action)
				require.Contains(t, e.Summary, strings.Repeat("x", maxUserAgent)+"…")
			}
		})

		t.Run("a forged link writes nothing", func(t *testing.T) {
			x := done(t)
			u, err := url.Parse(b.jobs.Link(x))
			require.NoError(t, err)
			all := func() int { return db.Client.AuditEvent.Query().CountX(viewer.Platform(t.Context())) }
			before := all()
			for name, tamper := range map[string]func(q url.Values){
				"signature": func(q url.Values) { q.Set("sig", strings.Repeat("0", 64)) },
				"expiry":    func(q url.Values) { q.Set("expires", "99999999999") },
				"tenant":    func(q url.Values) { q.Set("tenant", "ten_other") },
			} {
				q := u.Query()
				tamper(q)
				rec := get(u.Path + "?" + q.Encode())
				require.Equal(t, http.StatusForbidden, rec.Code, "%s: %s", name, rec.Body)
			}
			require.Equal(t, before, all())
		})

		t.Run("a signed link that may no longer download is recorded as refused", func(t *testing.T) {
			x := done(t)
			require.NoError(t, b.ada.Update().SetDisabledAt(b.clock.Now()).Exec(b.ctx))
			rec := get(b.jobs.Link(x))
			require.NoError(t, b.ada.Update().ClearDisabledAt().Exec(b.ctx))
			require.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), `"FORBIDDEN"`)

			onlyRefusal(t, x, "disabled")
		})

		t.Run("a download that cannot be recorded is not served", func(t *testing.T) {
			x := done(t)
			failAction.Store(audit.ActionExportDownload)
			rec := get(b.jobs.Link(x))
			failAction.Store("")
			require.Equal(t, http.StatusInternalServerError, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), `"INTERNAL"`)
			require.Contains(t, rec.Body.String(), "audit log")
			require.NotContains(t, rec.Body.String(), `"type":"conversation"`, "no byte of the file")
			require.Empty(t, events(t, x))
		})

		t.Run("a download whose end cannot be recorded is broken off", func(t *testing.T) {
			x := done(t)
			failAction.Store(audit.ActionExportDownloadEnd)
			defer failAction.Store("")
			require.PanicsWithValue(t, http.ErrAbortHandler, func() { get(b.jobs.Link(x)) },
				"the client never sees the file end")
			evs := events(t, x)
			require.Len(t, evs, 1, "%v", evs)
			require.Len(t, evs[audit.ActionExportDownload], 1)
		})

		t.Run("an expired link is recorded as refused", func(t *testing.T) {
			x := done(t)
			link := b.jobs.Link(x)
			b.clock.Advance(25 * time.Hour)
			rec := get(link)
			require.Equal(t, http.StatusGone, rec.Code, rec.Body.String())
			onlyRefusal(t, x, "expired")
		})

		t.Run("a replayed refused link is recorded a bounded number of times", func(t *testing.T) {
			x := done(t)
			link := b.jobs.Link(x)
			b.clock.Advance(25 * time.Hour)
			for range 3 * refusalsPerHour {
				require.Equal(t, http.StatusGone, get(link).Code)
			}
			require.Equal(t, refusalsPerHour, len(events(t, x)[audit.ActionExportDownloadRefused]))
		})
	})
}
