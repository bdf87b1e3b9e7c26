package export

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/attachment"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversationexport"
	"github.com/switchboard-dev/switchboard/pulid"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// DownloadPath is where finished exports are downloaded:
// DownloadPath + "<export id>?tenant=…&expires=<unix seconds>&sig=<hex>".
const DownloadPath = "/export/files/"

// Link is the download link of a finished export, signed with the
// server's secret over the tenant, the export, its requester and the
// expiry: the link is the credential (a browser follows it without a
// token), so any change to it is refused, and so is using it after its
// expiry. It is "" unless x is DONE and not expired.
func (j *Jobs) Link(x *ent.ConversationExport) string {
	if x.State != conversationexport.StateDONE || x.ExpiresAt == nil || !j.clock.Now().Before(*x.ExpiresAt) {
		return ""
	}
	expires := strconv.FormatInt(x.ExpiresAt.Unix(), 10)
	q := url.Values{"tenant": {x.TenantID}, "expires": {expires}, "sig": {j.sign(x.TenantID, x.ID, x.RequesterID, expires)}}
	return DownloadPath + x.ID + "?" + q.Encode()
}

func (j *Jobs) sign(tenantID, exportID, requesterID, expires string) string {
	m := hmac.New(sha256.New, j.cfg.Secret)
	fmt.Fprintf(m, "conversation-export\n%s\n%s\n%s\n%s", tenantID, exportID, requesterID, expires)
	return hex.EncodeToString(m.Sum(nil))
}

// DownloadHandler serves GET DownloadPath… without authentication: the
// signature is checked before anything is read (LINK_INVALID, 403), then
// the expiry (LINK_EXPIRED, 410), then that the export is still DONE and
// that its requester is still enabled and may still export (FORBIDDEN).
// The file streams with its SHA-256 as the X-Export-Sha256 trailer.
//
// Each download is audited in the export's tenant as its requester (the
// link is theirs), naming the export, the client's address and user agent.
// The audit chain is append-only, so a download is two records:
// audit.ActionExportDownload before the first byte, and
// audit.ActionExportDownloadEnd once the stream ends, sent whole (bytes,
// SHA-256) or broken off (bytes sent, the error). A download whose first
// record cannot be written is refused (INTERNAL) rather than served
// unaudited; one whose end cannot be written is broken off (the client
// misses the chunked end and the SHA-256 trailer, though the bytes before
// them may all have reached it: "started" without "sent whole" means the
// client may hold the file but was never told it is whole).
//
// A link whose signature holds but that may no longer download (expired,
// requester disabled or without conversation.export) is audited as
// audit.ActionExportDownloadRefused: the signature proves the tenant and the
// requester. A leaked link can be replayed without end, and each record
// takes the tenant's audit lock: an instance records at most
// refusalsPerHour refusals of one export an hour, and logs the rest.
// A link whose signature does not hold is not audited: nothing
// in it can be trusted, so writing it into the tenant it names would let
// anyone write into any tenant's chain; the request log keeps it.
func (j *Jobs) DownloadHandler(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			apperr.WriteMethodNotAllowed(w, http.MethodGet)
			return
		}
		x, expires, err := j.signed(r)
		if err != nil {
			apperr.WriteHTTP(w, err)
			return
		}
		d := download{id: pulid.New("dl"), export: x, client: auth.ClientOf(r)}
		// As the requester, to the end even if the client leaves.
		ctx := viewer.NewContext(context.WithoutCancel(r.Context()),
			&viewer.Viewer{Kind: viewer.KindAgent, TenantID: x.TenantID, AgentID: x.RequesterID})
		if err := j.admit(r.Context(), x, expires); err != nil {
			if !j.refusals.record(x.ID, time.Now()) {
				log.WarnContext(ctx, "export download refused again: not audited (refusals of this export this hour are on record)",
					"export", x.ID, "ip", d.client.IP, "err", err)
			} else if aerr := j.audit(ctx, audit.ActionExportDownloadRefused, d.refused(err)); aerr != nil {
				log.ErrorContext(ctx, "export download refusal not audited", "export", x.ID, "err", aerr)
			}
			apperr.WriteHTTP(w, err)
			return
		}
		if err := j.audit(ctx, audit.ActionExportDownload, d.started()); err != nil {
			log.ErrorContext(ctx, "export download not audited: refused", "export", x.ID, "err", err)
			apperr.WriteHTTP(w, &apperr.Error{Code: apperr.Internal, Err: err,
				Message: "the download cannot be recorded in the audit log, so it is not served: try again later"})
			return
		}
		attachment.Serve(w, r, log, fileOf(formatOf(x.Format), "conversations-"+x.ID),
			func(w io.Writer) (string, error) {
				sent := attachment.NewDigest(w)
				err := j.copyFile(sent, x)
				if aerr := j.audit(ctx, audit.ActionExportDownloadEnd, d.ended(sent, err)); aerr != nil {
					err = errors.Join(err, fmt.Errorf("export %s: download end not audited: %w", x.ID, aerr))
				}
				return sent.SHA256(), err
			})
	})
}

// copyFile writes x's file to w.
func (j *Jobs) copyFile(w io.Writer, x *ent.ConversationExport) error {
	f, err := os.Open(filepath.Join(j.cfg.Dir, x.File))
	if err != nil {
		return fmt.Errorf("export %s: %w", x.ID, err)
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// download is one download of an export, for its audit records; id ties
// its start to its end.
type download struct {
	id     string
	export *ent.ConversationExport
	client auth.ClientInfo
}

func (d download) started() audit.Event {
	return d.event(fmt.Sprintf("download %s of export %s started", d.id, d.export.ID), nil)
}

func (d download) ended(sent *attachment.Digest, err error) audit.Event {
	if err != nil {
		return d.event(fmt.Sprintf("download %s of export %s broken off after %d of %d bytes: %v",
			d.id, d.export.ID, sent.Bytes(), d.export.Bytes, err),
			map[string]any{"bytes": sent.Bytes(), "error": err.Error()})
	}
	return d.event(fmt.Sprintf("download %s of export %s sent whole: %d bytes, sha256 %s",
		d.id, d.export.ID, sent.Bytes(), sent.SHA256()),
		map[string]any{"bytes": sent.Bytes(), "sha256": sent.SHA256()})
}

func (d download) refused(err error) audit.Event {
	return d.event(fmt.Sprintf("download of export %s refused: %v", d.export.ID, err), map[string]any{"error": err.Error()})
}

// refusalsPerHour bounds the refused downloads of one export an instance
// records in an hour.
const refusalsPerHour = 5

// refusals counts the refused downloads recorded per export in the current
// hour's window, on this instance.
type refusals struct {
	mu      sync.Mutex
	windows map[string]refusalWindow
}

type refusalWindow struct {
	start time.Time
	n     int
}

// record says whether a refusal of exportID at now may be recorded, and
// counts it if so. Windows older than an hour are dropped as the map grows.
func (r *refusals) record(exportID string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.windows == nil {
		r.windows = map[string]refusalWindow{}
	}
	if len(r.windows) >= 10_000 {
		for id, w := range r.windows {
			if now.Sub(w.start) >= time.Hour {
				delete(r.windows, id)
			}
		}
	}
	w := r.windows[exportID]
	if now.Sub(w.start) >= time.Hour {
		w = refusalWindow{start: now}
	}
	if w.n >= refusalsPerHour {
		return false
	}
	w.n++
	r.windows[exportID] = w
	return true
}

// maxUserAgent bounds the user agent a record keeps: the client writes it.
const maxUserAgent = 256

// event is an audit event of the download: the summary, then where from.
func (d download) event(summary string, after map[string]any) audit.Event {
	if after == nil {
		after = map[string]any{}
	}
	ua := d.client.UserAgent
	if len(ua) > maxUserAgent {
		ua = strings.ToValidUTF8(ua[:maxUserAgent], "") + "…"
	}
	after["download"], after["ip"], after["userAgent"] = d.id, d.client.IP, ua
	return audit.Event{TargetID: d.export.ID, After: after,
		Summary: fmt.Sprintf("%s, from %s (%q)", summary, d.client.IP, ua)}
}

// audit records e as action, in a transaction of its own.
func (j *Jobs) audit(ctx context.Context, action string, e audit.Event) error {
	e.Action = action
	return store.WithTx(ctx, j.svc.client, func(ctx context.Context, tx *ent.Tx) error {
		return audit.Record(ctx, tx, e)
	})
}

// signed is the export a download request's link names, and the link's
// expiry, once its signature is proved good.
func (j *Jobs) signed(r *http.Request) (*ent.ConversationExport, time.Time, error) {
	id := strings.TrimPrefix(r.URL.Path, DownloadPath)
	q := r.URL.Query()
	tenantID, expires, sig := q.Get("tenant"), q.Get("expires"), q.Get("sig")
	invalid := apperr.New(apperr.LinkInvalid, "this download link is not valid: ask for the export's downloadURL again")
	if id == "" || tenantID == "" || strings.Contains(id, "/") {
		return nil, time.Time{}, invalid
	}
	at, err := strconv.ParseInt(expires, 10, 64)
	if err != nil {
		return nil, time.Time{}, invalid
	}
	ctx := viewer.System(r.Context(), tenantID)
	// The requester is part of what is signed, so the row is read first;
	// the answer does not tell a missing export from a bad signature.
	x, err := j.svc.client.ConversationExport.Query().Where(conversationexport.ID(id)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, time.Time{}, invalid
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	want := j.sign(tenantID, id, x.RequesterID, expires)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return nil, time.Time{}, invalid
	}
	return x, time.Unix(at, 0), nil
}

// admit refuses a signed link that may no longer download x.
func (j *Jobs) admit(ctx context.Context, x *ent.ConversationExport, expires time.Time) error {
	// The row's expiry wins over the link's: an erasure voids the files
	// already written (contact.Erase).
	if !j.clock.Now().Before(expires) || x.State == conversationexport.StateEXPIRED ||
		x.ExpiresAt != nil && !j.clock.Now().Before(*x.ExpiresAt) {
		return apperr.New(apperr.LinkExpired, "this download link has expired: export again")
	}
	if x.State != conversationexport.StateDONE || x.File == "" {
		return apperr.New(apperr.LinkInvalid, "this download link is not valid: ask for the export's downloadURL again")
	}
	_, err := j.asRequester(ctx, x.TenantID, x.RequesterID)
	return err
}

// Sweep removes the files of exports whose links expired, across tenants,
// and marks them EXPIRED; it returns how many.
func (j *Jobs) Sweep(ctx context.Context) (int, error) {
	pctx := viewer.Platform(ctx)
	expired, err := j.svc.client.ConversationExport.Query().Where(
		conversationexport.StateEQ(conversationexport.StateDONE), conversationexport.ExpiresAtLTE(j.clock.Now()),
	).All(pctx)
	if err != nil {
		return 0, err
	}
	for _, x := range expired {
		if err := os.Remove(filepath.Join(j.cfg.Dir, x.File)); err != nil && !os.IsNotExist(err) {
			return 0, fmt.Errorf("export %s: %w", x.ID, err)
		}
		if err := j.svc.client.ConversationExport.UpdateOne(x).SetState(conversationexport.StateEXPIRED).ClearFile().
			SetUpdatedAt(j.clock.Now()).Exec(pctx); err != nil {
			return 0, err
		}
	}
	return len(expired), nil
}

// SweepArgs is the periodic removal of expired export files.
type SweepArgs struct{}

// Kind names the job.
func (SweepArgs) Kind() string { return "conversation.export_sweep" }

// SweepWorker runs SweepArgs.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	Jobs *Jobs
}

// Work sweeps.
func (w *SweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	n, err := w.Jobs.Sweep(ctx)
	if n > 0 {
		w.Jobs.log.InfoContext(ctx, "expired export files removed", "exports", n)
	}
	return err
}

// PeriodicSweep is the job to give River: a sweep every 10 minutes.
func PeriodicSweep() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(10*time.Minute),
		func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}
