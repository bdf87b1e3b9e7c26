package connector

import (
	"context"
	"errors"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
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
	API    Providers
	Box    *credential.Box
	Pub    *realtime.Publisher
	Log    *slog.Logger
	// Proven, when set, is told of an unverified number whose stored token
	// the read just proved (number.Service.Proven): numbers linked before
	// verification existed, or given another id after their token was
	// stored, verify themselves.
	Proven func(ctx context.Context, n *ent.Number) error
}

// Work checks every linked number with credentials.
func (h *Health) Work(ctx context.Context, _ *river.Job[HealthArgs]) error {
	nums, err := h.Client.Number.Query().
		Where(number.UnlinkedAtIsNil(), number.PhoneNumberIDNotNil(), number.CredentialsNotNil()).
		All(viewer.Platform(ctx))
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
	api, err := h.API.For(n)
	if err != nil {
		return // nothing to ask: its status stays as it is
	}
	creds, err := h.Box.Open(n.Credentials, n.ID)
	if err != nil {
		return
	}
	got, err := api.HealthCheck(ctx, *n.PhoneNumberID, creds.AccessToken)
	status, quality, tier, attention := n.Status, n.Quality, n.MessagingTier, n.Attention
	var apiErr *whatsapp.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.TokenExpired():
		attention = "TOKEN_EXPIRED"
	case unreachable(err):
		status = number.StatusDISCONNECTED // the provider does not answer for it
	case whatsapp.IsRetryable(err):
		return // throttled: that says nothing of the number; read it next round
	case err != nil:
		h.Log.Warn("whatsapp: health read refused", "number", n.ID, "err", err)
		return
	default:
		h.proven(ctx, n, creds.AccessToken)
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
	// Only what this read changed is written: n was read before the call, and
	// a webhook (BANNED) or the Sender (TOKEN_EXPIRED) may have written since.
	err = store.WithTx(ctx, h.Client, func(ctx context.Context, tx *ent.Tx) error {
		u := tx.Number.UpdateOneID(n.ID)
		if status != n.Status {
			u.SetStatus(status)
		}
		if quality != n.Quality {
			u.SetQuality(quality)
		}
		if tier != n.MessagingTier {
			u.SetMessagingTier(tier)
		}
		if attention != n.Attention {
			u.SetAttention(attention)
		}
		if err := u.Exec(ctx); err != nil {
			return err
		}
		h.Pub.OnCommit(tx, numberEvent(n))
		return nil
	})
	if err != nil {
		h.Log.Error("whatsapp: health update", "number", n.ID, "err", err)
	}
}

// proven tells Proven of an unverified number whose stored token the
// provider confirms reads it (Providers.Proves).
func (h *Health) proven(ctx context.Context, n *ent.Number, token string) {
	if h.Proven == nil || n.VerifiedAt != nil {
		return
	}
	if ok, err := h.API.Proves(ctx, n, token); err != nil || !ok {
		return
	}
	if err := h.Proven(ctx, n); err != nil {
		// another tenant verified the id first, or the number changed
		h.Log.Info("whatsapp: a number's health read did not verify it", "number", n.ID, "err", err)
	}
}

// unreachable reports whether err means the provider did not answer for the
// number: no HTTP answer at all, or a 5xx. A throttled read (HTTP 429, or a
// rate-limit code with a 400) is an answer, not an outage.
func unreachable(err error) bool {
	if apiErr, ok := errors.AsType[*whatsapp.APIError](err); ok {
		return apiErr.Status >= 500
	}
	return whatsapp.IsRetryable(err) // without an APIError, only a transport error is
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
