package export

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/attachment"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversationexport"
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
func (j *Jobs) DownloadHandler(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x, err := j.linked(r)
		if err != nil {
			apperr.WriteHTTP(w, err)
			return
		}
		name := "conversations-" + x.ID
		attachment.Serve(w, r, log, fileOf(formatOf(x.Format), name),
			func(w io.Writer) (string, error) {
				f, err := os.Open(filepath.Join(j.cfg.Dir, x.File))
				if err != nil {
					return "", fmt.Errorf("export %s: %w", x.ID, err)
				}
				defer f.Close()
				d := attachment.NewDigest(w)
				if _, err := io.Copy(d, f); err != nil {
					return "", err
				}
				return d.SHA256(), nil
			})
	})
}

// linked is the export a download request's link names, once the link is
// proved good.
func (j *Jobs) linked(r *http.Request) (*ent.ConversationExport, error) {
	id := strings.TrimPrefix(r.URL.Path, DownloadPath)
	q := r.URL.Query()
	tenantID, expires, sig := q.Get("tenant"), q.Get("expires"), q.Get("sig")
	invalid := apperr.New(apperr.LinkInvalid, "this download link is not valid: ask for the export's downloadURL again")
	if id == "" || tenantID == "" || strings.Contains(id, "/") {
		return nil, invalid
	}
	at, err := strconv.ParseInt(expires, 10, 64)
	if err != nil {
		return nil, invalid
	}
	ctx := viewer.System(r.Context(), tenantID)
	// The requester is part of what is signed, so the row is read first;
	// the answer does not tell a missing export from a bad signature.
	x, err := j.svc.client.ConversationExport.Query().Where(conversationexport.ID(id)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	want := j.sign(tenantID, id, x.RequesterID, expires)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return nil, invalid
	}
	// The row's expiry wins over the link's: an erasure voids the files
	// already written (contact.Erase).
	if !j.clock.Now().Before(time.Unix(at, 0)) || x.State == conversationexport.StateEXPIRED ||
		x.ExpiresAt != nil && !j.clock.Now().Before(*x.ExpiresAt) {
		return nil, apperr.New(apperr.LinkExpired, "this download link has expired: export again")
	}
	if x.State != conversationexport.StateDONE || x.File == "" {
		return nil, invalid
	}
	if _, err := j.asRequester(r.Context(), tenantID, x.RequesterID); err != nil {
		return nil, err
	}
	return x, nil
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
