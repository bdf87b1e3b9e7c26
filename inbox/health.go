package inbox

import (
	"context"
	"errors"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// HealthArgs is the periodic job that reads every linked number's health.
type HealthArgs struct{}

// Kind names the job.
func (HealthArgs) Kind() string { return "whatsapp.health" }

// Health keeps numbers' status, quality and tier current from the
// provider's health read: a number whose provider stops answering goes
// DISCONNECTED, and comes back CONNECTED when it answers again.
type Health struct {
	river.WorkerDefaults[HealthArgs]
	Client *ent.Client
	API    *whatsapp.Client
	Box    *credential.Box
	Pub    *realtime.Publisher
	Log    *slog.Logger
}

// Work checks every linked number with credentials.
func (h *Health) Work(ctx context.Context, _ *river.Job[HealthArgs]) error {
	nums, err := h.Client.Number.Query().
		Where(number.UnlinkedAtIsNil(), number.PhoneNumberIDNotNil(), number.CredentialsNotNil()).
		All(platform(ctx))
	if err != nil {
		return err
	}
	for _, n := range nums {
		h.check(ctx, n)
	}
	return nil
}

func (h *Health) check(ctx context.Context, n *ent.Number) {
	ctx = viewer.System(ctx, n.TenantID)
	creds, err := h.Box.Open(n.Credentials, n.ID)
	if err != nil {
		return
	}
	got, err := h.API.HealthCheck(ctx, *n.PhoneNumberID, creds.AccessToken)
	status, quality, tier, attention := n.Status, n.Quality, n.MessagingTier, n.Attention
	var apiErr *whatsapp.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.TokenExpired():
		attention = "TOKEN_EXPIRED"
	case err != nil && whatsapp.IsRetryable(err):
		status = number.StatusDISCONNECTED // the provider does not answer for it
	case err != nil:
		h.Log.Warn("whatsapp: health read refused", "number", n.ID, "err", err)
		return
	default:
		status = healthStatus(got.Status, n.Status)
		if q := number.Quality(got.QualityRating); number.QualityValidator(q) == nil {
			quality = q
		}
		if got.MessagingLimitTier != "" {
			tier = got.MessagingLimitTier
		}
		if attention == "TOKEN_EXPIRED" {
			attention = ""
		}
	}
	if status == n.Status && quality == n.Quality && tier == n.MessagingTier && attention == n.Attention {
		return
	}
	tx, err := h.Client.Tx(ctx)
	if err != nil {
		return
	}
	if err := tx.Number.UpdateOneID(n.ID).SetStatus(status).SetQuality(quality).SetMessagingTier(tier).
		SetAttention(attention).Exec(ctx); err != nil {
		_ = tx.Rollback()
		h.Log.Error("whatsapp: health update", "number", n.ID, "err", err)
		return
	}
	h.Pub.OnCommit(tx, realtime.Event{TenantID: n.TenantID, Type: realtime.NumberStatusChanged, Subject: n.ID, Data: realtime.Kinded(realtime.KindUpdated)})
	if err := tx.Commit(); err != nil {
		h.Log.Error("whatsapp: health update", "number", n.ID, "err", err)
	}
}

// healthStatus maps the provider's number status onto ours.
func healthStatus(provider string, current number.Status) number.Status {
	switch provider {
	case "CONNECTED", "":
		if current == number.StatusRESTRICTED || current == number.StatusBANNED {
			return current // only an account update lifts those
		}
		return number.StatusCONNECTED
	case "FLAGGED", "RESTRICTED", "RATE_LIMITED":
		return number.StatusRESTRICTED
	case "BANNED", "DELETED":
		return number.StatusBANNED
	case "DISCONNECTED", "UNVERIFIED", "PENDING", "OFFLINE":
		return number.StatusDISCONNECTED
	}
	return current
}
