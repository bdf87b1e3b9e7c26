package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// A password is never set by someone else: its owner changes it proving the
// current one, or an administrator issues a one-time reset token that the
// owner uses. Either way every session of the agent ends.

// ResetTokenTTL is how long a password-reset token works.
const ResetTokenTTL = time.Hour

const resetTokenPrefix = "pr_"

// CheckNewPassword refuses a password too short or too long to accept.
func CheckNewPassword(field, p string) error {
	if len(p) < MinPasswordLen {
		return apperr.Invalid(field, "must be at least %d characters", MinPasswordLen)
	}
	if len(p) > 256 {
		return apperr.Invalid(field, "must be at most 256 characters")
	}
	return nil
}

// ChangePassword sets the viewer's own password after checking the current
// one. Every session of the agent ends, this one included; the answer is a
// new session.
func (s *Service) ChangePassword(ctx context.Context, current, next string, info ClientInfo) (*Grant, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.AgentID == "" {
		return nil, apperr.New(apperr.Forbidden, "only a signed-in agent has a password to change")
	}
	if err := CheckNewPassword("newPassword", next); err != nil {
		return nil, err
	}
	a, err := s.client.Agent.Get(ctx, v.AgentID)
	if err != nil {
		return nil, err
	}
	if err := s.throttle.admit(ctx, a.Email, info.IP); err != nil {
		return nil, err
	}
	ok, err := s.checkPassword(a.PasswordHash, current)
	if err != nil {
		return nil, fmt.Errorf("change password of %s: %w", a.ID, err)
	}
	if !ok {
		if err := s.throttle.failed(ctx, []*ent.Agent{a}, a.Email, info.IP); err != nil {
			return nil, err
		}
		return nil, apperr.Invalid("currentPassword", "the current password is wrong")
	}
	s.throttle.succeeded(ctx, a.Email, info.IP)
	if err := s.setPassword(ctx, a, next, audit.Event{
		Action: audit.ActionPasswordChanged, TargetID: a.ID,
		Summary: fmt.Sprintf("%s changed their password", a.Name),
	}); err != nil {
		return nil, err
	}
	return s.openSession(ctx, a, info)
}

// IssuePasswordReset gives agentID a one-time token with which they set a
// new password (ResetPassword), replacing any earlier one. The viewer must
// hold every switch the agent holds, and cannot reset their own password
// (they change it, proving the current one).
func (s *Service) IssuePasswordReset(ctx context.Context, agentID string) (*ent.Agent, string, time.Time, error) {
	v := viewer.FromContext(ctx)
	if v != nil && v.AgentID == agentID {
		return nil, "", time.Time{}, apperr.New(apperr.Conflict, "change your own password with changePassword")
	}
	token := randomToken(resetTokenPrefix)
	expires := s.clock.Now().Add(ResetTokenTTL)
	a, err := store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Agent, error) {
		a, err := tx.Agent.Get(ctx, agentID)
		if err != nil {
			return nil, err
		}
		if err := policy.CheckOutranks(ctx, tx.Client(), a.Roles); err != nil {
			return nil, err
		}
		if a, err = a.Update().SetResetHash(digest(token)).SetResetExpiresAt(expires).Save(ctx); err != nil {
			return nil, err
		}
		return a, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionPasswordResetIssued, TargetID: a.ID,
			Summary: fmt.Sprintf("password reset issued for %s, valid until %s", a.Name, expires.UTC().Format(time.RFC3339)),
		})
	})
	if err != nil {
		return nil, "", time.Time{}, err
	}
	return a, token, expires, nil
}

var errBadResetToken = apperr.New(apperr.Unauthenticated, "invalid or expired reset token")

// ResetPassword sets a new password with a reset token, which works once.
// Every session of the agent ends.
func (s *Service) ResetPassword(ctx context.Context, token, next string) error {
	if !strings.HasPrefix(token, resetTokenPrefix) {
		return errBadResetToken
	}
	if err := CheckNewPassword("newPassword", next); err != nil {
		return err
	}
	a, err := s.client.Agent.Query().Where(agent.ResetHash(digest(token))).Only(viewer.Platform(ctx))
	switch {
	case ent.IsNotFound(err):
		return errBadResetToken
	case err != nil:
		return fmt.Errorf("reset password: %w", err)
	case a.ResetExpiresAt == nil || !s.clock.Now().Before(*a.ResetExpiresAt) || a.DisabledAt != nil:
		return errBadResetToken
	}
	// Recorded as the agent: they chose the new password.
	actx := viewer.NewContext(ctx, &viewer.Viewer{Kind: viewer.KindAgent, TenantID: a.TenantID, AgentID: a.ID, Scope: viewer.Everything})
	return s.setPassword(actx, a, next, audit.Event{
		Action: audit.ActionPasswordReset, TargetID: a.ID,
		Summary: fmt.Sprintf("%s set a new password with a reset token", a.Name),
	})
}

// setPassword stores a new password for a, uses up its reset token, ends
// every session and access token of a (on every instance) and records e.
func (s *Service) setPassword(ctx context.Context, a *ent.Agent, password string, e audit.Event) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		// Conditional on the hash read: of two concurrent resets with one
		// token, or a change racing a reset, one wins.
		u := tx.Agent.Update().Where(agent.ID(a.ID), agent.PasswordHash(a.PasswordHash))
		if a.ResetHash != "" {
			u.Where(agent.ResetHash(a.ResetHash))
		}
		n, err := u.SetPasswordHash(hash).ClearResetHash().ClearResetExpiresAt().
			SetTokensValidAfter(policy.RevocationInstant()).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, "the password changed meanwhile: try again")
		}
		if err := EndAgentSessions(ctx, tx, s.authz, s.pub, a.TenantID, a.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, e)
	})
}

// EndAgentSessions ends every session of agentID once tx commits: their
// refresh tokens stop working, and every instance refuses their access
// tokens and closes their live connections. The caller has moved the
// agent's tokens_valid_after.
func EndAgentSessions(ctx context.Context, tx *ent.Tx, authz *policy.Authorizer, pub *realtime.Publisher, tenantID, agentID string) error {
	if err := RevokeAgentSessions(ctx, tx.Client(), agentID, time.Now()); err != nil {
		return err
	}
	authz.InvalidateOnCommit(ctx, tx)
	pub.OnCommit(tx, realtime.PolicyChangedEvent(tenantID), realtime.AgentRevokedEvent(tenantID, agentID))
	return nil
}
