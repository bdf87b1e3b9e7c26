// Package audit keeps the append-only, hash-chained record of who did what.
//
// Each tenant's events form a chain: event n stores the hash of event n-1
// (prev_hash) and its own hash over its fields and prev_hash, so altering,
// removing or inserting a row breaks the chain at that row, which Verify
// names. Record writes in the caller's transaction, so an event exists if and
// only if the change it records committed.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/auditevent"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Actions recorded. A mutation names the one it records beside its
// permission (graph/permission.go).
const (
	ActionLogin                 = "auth.login"
	ActionLoginFailed           = "auth.login_failed"
	ActionAPIKeyCreated         = "apikey.create"
	ActionAPIKeyRevoked         = "apikey.revoke"
	ActionRoleCreated           = "role.create"
	ActionRoleUpdated           = "role.update"
	ActionRoleDeleted           = "role.delete"
	ActionFieldRuleSet          = "role.field_rule"
	ActionRolesAssigned         = "agent.roles"
	ActionAgentCreated          = "agent.create"
	ActionAgentUpdated          = "agent.update"
	ActionAgentDisabled         = "agent.disable"
	ActionAgentEnabled          = "agent.enable"
	ActionTeamCreated           = "team.create"
	ActionTeamUpdated           = "team.update"
	ActionNumberLinked          = "number.link"
	ActionNumberUpdated         = "number.update"
	ActionNumberUnlinked        = "number.unlink"
	ActionCredentialsSet        = "number.credentials"
	ActionNumberVerified        = "number.verify" // the health read proved a stored token
	ActionDeliveriesReplayed    = "number.replay_webhooks"
	ActionConversationAssigned  = "conversation.assign"
	ActionConversationTransfer  = "conversation.transfer"
	ActionMessageDeleted        = "message.delete"
	ActionContactErased         = "contact.erase"
	ActionContactMerged         = "contact.merge" // two contacts found to be one person (ingest)
	ActionMessageRateSet        = "pricing.rate_set"
	ActionMessageRateDeleted    = "pricing.rate_delete"
	ActionConversationsExported = "conversation.export"
	// A download of an export job's file through its signed link, by its
	// requester: admitted (written before the first byte), ended (sent whole
	// with its bytes and SHA-256, or broken off with the error) and refused
	// (a link this server signed that may no longer download).
	ActionExportDownload        = "conversation.export_download"
	ActionExportDownloadEnd     = "conversation.export_download_end"
	ActionExportDownloadRefused = "conversation.export_download_refused"
	ActionReportExported        = "report.export"
	ActionRetentionPurged       = "retention.purge"
	ActionLegalHold             = "privacy.legal_hold" // on a contact or a conversation, set or released: the summary says which
	ActionGroupCreated          = "group.create"
	ActionGroupUpdated          = "group.update"
	ActionGroupMembersAdded     = "group.members_add"
	ActionGroupMembersRemoved   = "group.members_remove"
	ActionGroupMemberRoleSet    = "group.member_role"
	ActionGroupDeleted          = "group.delete"
	ActionGroupInviteReset      = "group.invite_reset"
	ActionGroupJoinApproved     = "group.join_approve"
	ActionGroupJoinRejected     = "group.join_reject"
	ActionGroupAdminsSet        = "group.admins"
	ActionGroupMessageHidden    = "group.message_hide"
	ActionGroupPhotoSet         = "group.photo"
	// A scheduled change of a group's settings: scheduled and cancelled by an
	// agent, applied and ended by its jobs (the system).
	ActionGroupScheduled         = "group.schedule"
	ActionGroupScheduleCancelled = "group.schedule_cancel"
	ActionGroupScheduleApplied   = "group.schedule_apply"
	ActionGroupScheduleEnded     = "group.schedule_end"

	ActionWebhookCreated       = "webhook.create"
	ActionWebhookUpdated       = "webhook.update"
	ActionWebhookDeleted       = "webhook.delete"
	ActionWebhookSecretRotated = "webhook.rotate_secret"
	ActionWebhookRedelivered   = "webhook.redeliver"
	ActionWebhookDisabled      = "webhook.disabled"
	ActionTenantSettings       = "tenant.settings"
	ActionEmailChanged         = "agent.email"
	// Passwords: changed by their owner, a reset issued by an admin, a reset used.
	ActionPasswordChanged     = "agent.password"
	ActionPasswordResetIssued = "agent.password_reset_issue"
	ActionPasswordReset       = "agent.password_reset"
)

// genesis is the prev_hash of a tenant's first event.
const genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Event is one thing to record. Before and After are digested (SHA-256 of
// their JSON), so the log proves what changed without copying personal data.
type Event struct {
	Action   string
	TargetID string
	Summary  string
	Before   any
	After    any
}

// Record appends e to the chain of the tenant of ctx's viewer, through tx.
// The actor is the viewer: an agent, an API key or "system".
func Record(ctx context.Context, tx *ent.Tx, e Event) error {
	v := viewer.FromContext(ctx)
	if v == nil || v.TenantID == "" {
		return fmt.Errorf("audit %s: no tenant", e.Action)
	}
	// Touching the tenant row serialises appends of one tenant on Postgres;
	// SQLite's immediate transactions already do.
	if err := tx.Tenant.UpdateOneID(v.TenantID).SetUpdatedAt(time.Now()).Exec(viewer.System(ctx, v.TenantID)); err != nil {
		return fmt.Errorf("audit %s: lock chain: %w", e.Action, err)
	}
	sctx := viewer.System(ctx, v.TenantID)
	prevHash, seq := genesis, int64(1)
	last, err := tx.AuditEvent.Query().Order(ent.Desc(auditevent.FieldSeq)).First(sctx)
	switch {
	case err == nil:
		prevHash, seq = last.Hash, last.Seq+1
	case !ent.IsNotFound(err):
		return fmt.Errorf("audit %s: chain head: %w", e.Action, err)
	}
	row := &ent.AuditEvent{
		TenantID:     v.TenantID,
		Seq:          seq,
		ActorID:      actor(v),
		Action:       e.Action,
		TargetID:     e.TargetID,
		Summary:      e.Summary,
		BeforeDigest: digest(e.Before),
		AfterDigest:  digest(e.After),
		At:           time.Now().UTC().Truncate(time.Microsecond), // what both databases keep
		PrevHash:     prevHash,
	}
	row.Hash = Hash(row)
	err = tx.AuditEvent.Create().
		SetSeq(row.Seq).SetActorID(row.ActorID).SetAction(row.Action).SetTargetID(row.TargetID).
		SetSummary(row.Summary).SetBeforeDigest(row.BeforeDigest).SetAfterDigest(row.AfterDigest).
		SetAt(row.At).SetPrevHash(row.PrevHash).SetHash(row.Hash).
		Exec(sctx)
	if t, _ := ctx.Value(trailKey{}).(*Trail); t != nil && err == nil {
		tx.OnCommit(func(next ent.Committer) ent.Committer {
			return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
				err := next.Commit(ctx, tx)
				if err == nil {
					t.add(e.Action)
				}
				return err
			})
		})
	}
	return err
}

// Trail collects the actions recorded, and committed, while one operation
// runs: the API gives every mutation one and checks afterwards that the
// mutation committed the action it declares (graph/permission.go).
type Trail struct {
	mu        sync.Mutex
	actions   []string
	unchanged bool
}

type trailKey struct{}

// WithTrail returns ctx carrying a new, empty Trail.
func WithTrail(ctx context.Context) (context.Context, *Trail) {
	t := &Trail{}
	return context.WithValue(ctx, trailKey{}, t), t
}

func (t *Trail) add(action string) {
	t.mu.Lock()
	t.actions = append(t.actions, action)
	t.mu.Unlock()
}

// Accounts reports whether the trail holds action committed, or the
// operation said it changed nothing (Unchanged).
func (t *Trail) Accounts(action string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.unchanged || slices.Contains(t.actions, action)
}

// Actions are the actions committed so far, in order.
func (t *Trail) Actions() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.actions)
}

// Unchanged says that the operation of ctx changed nothing (disabling an
// agent already disabled, unlinking a number already unlinked), so there is
// nothing to record. Call it only on such a path.
func Unchanged(ctx context.Context) {
	if t, _ := ctx.Value(trailKey{}).(*Trail); t != nil {
		t.mu.Lock()
		t.unchanged = true
		t.mu.Unlock()
	}
}

// Hash is the hash of an event: SHA-256 over its fields and prev_hash, each
// length-prefixed so that no two different events encode alike.
func Hash(e *ent.AuditEvent) string {
	h := sha256.New()
	for _, f := range []string{
		e.TenantID, strconv.FormatInt(e.Seq, 10), e.ActorID, e.Action, e.TargetID, e.Summary,
		e.BeforeDigest, e.AfterDigest, e.At.UTC().Format(time.RFC3339Nano), e.PrevHash,
	} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func actor(v *viewer.Viewer) string {
	switch {
	case v.AgentID != "":
		return v.AgentID
	case v.APIKeyID != "":
		return v.APIKeyID
	}
	return "system"
}

func digest(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprint(v))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Report is the outcome of Verify.
type Report struct {
	OK      bool
	Checked int
	// BrokenID and BrokenSeq name the first event whose hash or link does
	// not hold; Reason says which.
	BrokenID  string
	BrokenSeq int64
	Reason    string
}

// verifyBatch is how many events Verify reads at a time.
const verifyBatch = 1000

// Verify walks the chain of the tenant of ctx's viewer and reports the first
// broken link: a row whose hash does not match its content (altered), whose
// prev_hash is not its predecessor's hash, or whose sequence skips (removed or
// inserted).
func Verify(ctx context.Context, client *ent.Client) (Report, error) {
	var r Report
	prevHash, want := genesis, int64(1)
	for {
		batch, err := client.AuditEvent.Query().
			Where(auditevent.SeqGTE(want)).
			Order(ent.Asc(auditevent.FieldSeq)).
			Limit(verifyBatch).
			All(ctx)
		if err != nil {
			return r, fmt.Errorf("verify audit chain: %w", err)
		}
		for _, e := range batch {
			var reason string
			switch {
			case e.Seq != want:
				reason = fmt.Sprintf("sequence jumps from %d to %d: events are missing", want-1, e.Seq)
			case e.PrevHash != prevHash:
				reason = "prev_hash does not match the previous event: an event before it was changed or removed"
			case Hash(e) != e.Hash:
				reason = "hash does not match the content: this event was altered"
			}
			if reason != "" {
				r.BrokenID, r.BrokenSeq, r.Reason = e.ID, e.Seq, reason
				return r, nil
			}
			r.Checked++
			prevHash, want = e.Hash, e.Seq+1
		}
		if len(batch) < verifyBatch {
			r.OK = true
			return r, nil
		}
	}
}
