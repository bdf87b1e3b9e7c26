package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/group"
	"github.com/switchboard-dev/switchboard/ent/groupjoinrequest"
	"github.com/switchboard-dev/switchboard/ent/groupmember"
	"github.com/switchboard-dev/switchboard/ent/groupphoto"
	"github.com/switchboard-dev/switchboard/ent/groupwebhookevent"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// Group operations a GroupOpArgs job runs at the provider.
const (
	GroupOpCreate     = "create"
	GroupOpUpdate     = "update"
	GroupOpDelete     = "delete"
	GroupOpResetLink  = "reset_link"
	GroupOpApprove    = "approve"
	GroupOpReject     = "reject"
	GroupOpRemove     = "remove"
	GroupOpAddMembers = "add"
	GroupOpPhoto      = "photo"
)

// GroupOpArgs is the durable job that runs one change of a group at the
// provider: the platform records the change, the job asks the provider,
// and the provider's webhook (or its answer) confirms it.
type GroupOpArgs struct {
	TenantID string `json:"tenant_id"`
	GroupID  string `json:"group_id"`
	Op       string `json:"op"`
	// Subject and Description: for update, the values to set (nil: keep).
	Subject     *string `json:"subject,omitempty"`
	Description *string `json:"description,omitempty"`
	// JoinRequestIDs: for approve and reject, our ids (gjr_…).
	JoinRequestIDs []string `json:"join_request_ids,omitempty"`
	// WaIDs: for remove and add, the participants.
	WaIDs []string `json:"wa_ids,omitempty"`
	// PhotoSHA256: for photo, the picture asked for (a later one replaces it).
	PhotoSHA256 string `json:"photo_sha256,omitempty"`
}

// Kind names the job.
func (GroupOpArgs) Kind() string { return "whatsapp.group_op" }

// InsertOpts: group changes share the send queue and its retry budget. A
// creation is unique per group while it is waiting, running or retrying: a
// second one (the demo's simulator asking again after a restart, a retry of
// the mutation) is not inserted, so one platform group makes one provider
// group. A completed creation does not block a new one: a group whose
// provider lost it (the simulator restarted) is created again.
func (a GroupOpArgs) InsertOpts() river.InsertOpts {
	opts := river.InsertOpts{Queue: QueueSend, MaxAttempts: MaxSendAttempts}
	if a.Op == GroupOpCreate {
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled,
		}}
	}
	return opts
}

// GroupOps runs GroupOpArgs with the senders' error classification: a
// retryable error (throughput, 5xx, network) backs off and tries again, an
// expired token waits for a renewed one, a permanent refusal is recorded
// with the provider's reason.
type GroupOps struct {
	river.WorkerDefaults[GroupOpArgs]
	Client *ent.Client
	API    Providers
	Box    *credential.Box
	Pub    *realtime.Publisher
	Clock  clock.Clock
	Log    *slog.Logger
}

// maxGroupOpAttempts bounds the tries of one group change.
const maxGroupOpAttempts = 40

// Work runs one group change.
func (w *GroupOps) Work(ctx context.Context, j *river.Job[GroupOpArgs]) error {
	ctx = viewer.System(ctx, j.Args.TenantID)
	g, err := w.Client.Group.Query().Where(group.ID(j.Args.GroupID)).WithNumber().Only(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	num := g.Edges.Number
	if num.UnlinkedAt != nil || num.PhoneNumberID == nil {
		return w.refused(ctx, g, j.Args, "the number is unlinked")
	}
	api, err := w.API.For(num)
	if err != nil {
		w.Log.Warn("whatsapp: group change kept", "group", g.ID, "err", err)
		return river.JobSnooze(time.Minute)
	}
	creds, err := w.Box.Open(num.Credentials, num.ID)
	if err != nil {
		return river.JobSnooze(time.Minute)
	}
	err = w.run(ctx, api, *num.PhoneNumberID, creds.AccessToken, g, j.Args)
	var apiErr *whatsapp.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &apiErr) && apiErr.TokenExpired():
		return river.JobSnooze(time.Minute)
	case errors.As(err, &apiErr) && apiErr.Permanent():
		return w.refused(ctx, g, j.Args, apiErr.Message+detail(apiErr))
	case whatsapp.IsRetryable(err) && j.Attempt < maxGroupOpAttempts:
		return river.JobSnooze(backoff(j.Attempt))
	case errors.Is(err, errGroupNotReady) && j.Attempt < maxGroupOpAttempts:
		return river.JobSnooze(backoff(j.Attempt))
	default:
		return w.refused(ctx, g, j.Args, err.Error())
	}
}

func detail(e *whatsapp.APIError) string {
	if e.Details == "" {
		return ""
	}
	return ": " + e.Details
}

// errGroupNotReady: the group has no provider id yet (its creation is not
// confirmed): the change waits.
var errGroupNotReady = errors.New("the group is not created at the provider yet")

// run asks the provider for one change.
func (w *GroupOps) run(ctx context.Context, api *whatsapp.Client, phoneNumberID, token string, g *ent.Group, a GroupOpArgs) error {
	if a.Op == GroupOpCreate {
		if g.CreateRequestID != nil {
			return nil // asked already: the webhook will say
		}
		mode := whatsapp.JoinAutoApprove
		if g.JoinApproval {
			mode = whatsapp.JoinApprovalRequired
		}
		reqID, err := api.CreateGroup(ctx, phoneNumberID, token, whatsapp.NewGroup{Subject: g.Subject, Description: g.Description, JoinApprovalMode: mode})
		if err != nil {
			return err
		}
		return w.created(ctx, g.ID, reqID)
	}
	if g.ProviderGroupID == nil {
		if g.State == group.StateFAILED || g.State == group.StateDELETED {
			return fmt.Errorf("the group is %s", strings.ToLower(string(g.State)))
		}
		return errGroupNotReady
	}
	pid := *g.ProviderGroupID
	switch a.Op {
	case GroupOpUpdate:
		return api.UpdateGroup(ctx, token, pid, whatsapp.GroupSettings{Subject: a.Subject, Description: a.Description})
	case GroupOpDelete:
		return api.DeleteGroup(ctx, token, pid)
	case GroupOpResetLink:
		link, err := api.ResetInviteLink(ctx, token, pid)
		if err != nil {
			return err
		}
		return store.WithTx(ctx, w.Client, func(ctx context.Context, tx *ent.Tx) error {
			w.Pub.OnCommit(tx, realtime.GroupEvent(g.TenantID, g.ID, realtime.KindUpdated))
			return tx.Group.UpdateOneID(g.ID).SetInviteLink(link).ClearStateReason().Exec(ctx)
		})
	case GroupOpApprove, GroupOpReject:
		return w.decide(ctx, api, token, g, pid, a)
	case GroupOpRemove:
		return api.RemoveParticipants(ctx, token, pid, a.WaIDs)
	case GroupOpAddMembers:
		return api.AddParticipants(ctx, token, pid, a.WaIDs)
	case GroupOpPhoto:
		p, err := w.Client.GroupPhoto.Query().Where(groupphoto.GroupID(g.ID)).Only(ctx)
		if ent.IsNotFound(err) || (err == nil && p.Sha256 != a.PhotoSHA256) {
			return nil // a later picture replaced it: its own job sends it
		}
		if err != nil {
			return err
		}
		return api.SetGroupPhoto(ctx, token, pid, p.Jpeg)
	}
	return fmt.Errorf("unknown group operation %q", a.Op)
}

// created keeps the creation's request id and applies its webhook when it
// came first (the provider may answer by webhook before this records it).
func (w *GroupOps) created(ctx context.Context, groupID, requestID string) error {
	return store.WithTx(ctx, w.Client, func(ctx context.Context, tx *ent.Tx) error {
		g, err := tx.Group.UpdateOneID(groupID).SetCreateRequestID(requestID).Save(ctx)
		if err != nil {
			return err
		}
		early, err := tx.GroupWebhookEvent.Query().
			Where(groupwebhookevent.NumberID(g.NumberID), groupwebhookevent.RequestID(requestID),
				groupwebhookevent.Type("group_create")).
			First(ctx)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		var item groupItem
		if err := json.Unmarshal(early.Payload, &item); err != nil {
			return err
		}
		return applyCreate(ctx, tx, w.Pub, g, item)
	})
}

// decide approves or rejects join requests at the provider; those it
// refuses are PENDING again, with its reason.
func (w *GroupOps) decide(ctx context.Context, api *whatsapp.Client, token string, g *ent.Group, pid string, a GroupOpArgs) error {
	reqs, err := w.Client.GroupJoinRequest.Query().Where(groupjoinrequest.IDIn(a.JoinRequestIDs...)).All(ctx)
	if err != nil {
		return err
	}
	byProvider := map[string]*ent.GroupJoinRequest{}
	var ids []string
	for _, r := range reqs {
		if r.ProviderRequestID != "" {
			byProvider[r.ProviderRequestID] = r
			ids = append(ids, r.ProviderRequestID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	decide := api.ApproveJoinRequests
	if a.Op == GroupOpReject {
		decide = api.RejectJoinRequests
	}
	d, err := decide(ctx, token, pid, ids)
	if err != nil {
		return err
	}
	if len(d.Failed) == 0 {
		return nil
	}
	return store.WithTx(ctx, w.Client, func(ctx context.Context, tx *ent.Tx) error {
		for pidReq, reason := range d.Failed {
			r := byProvider[pidReq]
			if r == nil {
				continue
			}
			r, err := tx.GroupJoinRequest.UpdateOneID(r.ID).SetStatus(groupjoinrequest.StatusPENDING).
				ClearDecidedAt().ClearDecidedByID().SetError(reason).Save(ctx)
			if err != nil {
				return err
			}
			w.Pub.OnCommit(tx, realtime.GroupJoinEvent(g.TenantID, g.ID, r.ID, realtime.KindJoinDecided))
		}
		return nil
	})
}

// refused records a change the provider will not make: a creation FAILED,
// approvals PENDING again, anything else said on the group.
func (w *GroupOps) refused(ctx context.Context, g *ent.Group, a GroupOpArgs, reason string) error {
	w.Log.Warn("whatsapp: group change refused", "group", g.ID, "op", a.Op, "reason", reason)
	return store.WithTx(ctx, w.Client, func(ctx context.Context, tx *ent.Tx) error {
		u := tx.Group.UpdateOneID(g.ID).SetStateReason(fmt.Sprintf("%s: %s", a.Op, reason))
		if a.Op == GroupOpCreate {
			u.SetState(group.StateFAILED)
		}
		if a.Op == GroupOpDelete && g.State == group.StateDELETING {
			u.SetState(group.StateACTIVE)
		}
		if err := u.Exec(ctx); err != nil {
			return err
		}
		if a.Op == GroupOpApprove || a.Op == GroupOpReject {
			if err := tx.GroupJoinRequest.Update().Where(groupjoinrequest.IDIn(a.JoinRequestIDs...)).
				SetStatus(groupjoinrequest.StatusPENDING).ClearDecidedAt().ClearDecidedByID().SetError(reason).Exec(ctx); err != nil {
				return err
			}
		}
		w.Pub.OnCommit(tx, realtime.GroupEvent(g.TenantID, g.ID, realtime.KindUpdated))
		return nil
	})
}

// groupItem is one item of a group webhook's groups[], as far as the
// platform reflects it.
type groupItem struct {
	Type             string        `json:"type"`
	GroupID          string        `json:"group_id"`
	RequestID        string        `json:"request_id"`
	Subject          string        `json:"subject"`
	Description      string        `json:"description"`
	InviteLink       string        `json:"invite_link"`
	JoinApprovalMode string        `json:"join_approval_mode"`
	JoinRequestID    string        `json:"join_request_id"`
	WaID             string        `json:"wa_id"`
	Reason           string        `json:"reason"`
	InitiatedBy      string        `json:"initiated_by"`
	Added            []participant `json:"added_participants"`
	Removed          []participant `json:"removed_participants"`
	Errors           []itemError   `json:"errors"`
	GroupSubject     *settingText  `json:"group_subject"`
	GroupDescription *settingText  `json:"group_description"`
	ProfilePicture   *settingText  `json:"profile_picture"`
}

type participant struct {
	Input string `json:"input"`
	WaID  string `json:"wa_id"`
}

type itemError struct {
	Code      any    `json:"code"` // a number at Meta, a placeholder string in its examples
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

type settingText struct {
	Text             string      `json:"text"`
	UpdateSuccessful bool        `json:"update_successful"`
	Errors           []itemError `json:"errors"`
}

func (e itemError) String() string {
	s := strings.TrimSpace(e.Title)
	if e.Message != "" && e.Message != e.Title {
		s = strings.TrimSpace(s + ": " + e.Message)
	}
	if e.ErrorData.Details != "" {
		s = strings.TrimSpace(s + " (" + e.ErrorData.Details + ")")
	}
	if s == "" {
		s = fmt.Sprintf("error %v", e.Code)
	}
	return s
}

func errorsText(errs []itemError) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.String()
	}
	return strings.Join(parts, "; ")
}

// reflectGroup applies a new group webhook item to the groups, members and
// join requests it concerns. Items are stored first (groupEvent), so a
// redelivery is never applied twice.
func (in *Ingester) reflectGroup(ctx context.Context, tx *ent.Tx, num *ent.Number, raw []byte) error {
	var item groupItem
	if err := json.Unmarshal(raw, &item); err != nil {
		in.log.Warn("whatsapp: group webhook item not reflected", "number", num.ID, "err", err)
		return nil
	}
	if item.Type == "group_create" {
		return in.groupCreated(ctx, tx, num, item)
	}
	if item.GroupID == "" {
		return nil
	}
	g, err := tx.Group.Query().Where(group.NumberID(num.ID), group.ProviderGroupID(item.GroupID)).Only(ctx)
	if ent.IsNotFound(err) {
		// a group made elsewhere (the app, another tool): known from now on
		if g, err = in.adoptGroup(ctx, tx, num, item.GroupID, ""); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	tenant := num.TenantID
	switch item.Type {
	case "group_delete":
		if len(item.Errors) > 0 {
			return in.groupState(ctx, tx, g, group.StateACTIVE, "delete: "+errorsText(item.Errors))
		}
		return in.groupState(ctx, tx, g, group.StateDELETED, "")
	case "group_suspend":
		return in.groupState(ctx, tx, g, group.StateSUSPENDED, "suspended by WhatsApp")
	case "group_suspend_cleared":
		return in.groupState(ctx, tx, g, group.StateACTIVE, "")
	case "group_participants_add":
		return in.participantsAdded(ctx, tx, g, item)
	case "group_participants_remove":
		return in.participantsRemoved(ctx, tx, g, item)
	case "group_join_request_created":
		return in.joinRequested(ctx, tx, g, item)
	case "group_join_request_revoked":
		r, err := in.joinRequest(ctx, tx, g, item)
		if err != nil || r == nil {
			return err
		}
		if r, err = r.Update().SetStatus(groupjoinrequest.StatusCANCELLED).SetDecidedAt(in.clock.Now()).Save(ctx); err != nil {
			return err
		}
		in.pub.OnCommit(tx, realtime.GroupJoinEvent(tenant, g.ID, r.ID, realtime.KindJoinDecided))
		return nil
	case "group_settings_update":
		return in.settingsUpdated(ctx, tx, g, item)
	}
	return nil
}

// groupCreated confirms a creation: the group asked with that request id
// gets its provider id and invite link (or FAILED with the reason). A
// creation whose request id is not recorded yet is applied when it is
// (GroupOps.created); one nobody here asked for is adopted.
func (in *Ingester) groupCreated(ctx context.Context, tx *ent.Tx, num *ent.Number, item groupItem) error {
	var g *ent.Group
	var err error
	if item.RequestID != "" {
		// Lock the groups being created on the number first: a GroupOps
		// recording its request id holds its group's row until it commits,
		// so this waits for it and the query below sees the id (Postgres;
		// SQLite's writers take turns anyway). Either side then finds the
		// other's write.
		if err := tx.Group.Update().Where(group.NumberID(num.ID), group.StateEQ(group.StateCREATING)).
			SetUpdatedAt(in.clock.Now()).Exec(ctx); err != nil {
			return err
		}
		g, err = tx.Group.Query().Where(group.NumberID(num.ID), group.CreateRequestID(item.RequestID)).Only(ctx)
		if ent.IsNotFound(err) {
			g, err = nil, nil
		}
		if err != nil {
			return err
		}
	}
	if g == nil && item.GroupID != "" && len(item.Errors) == 0 {
		g, err = tx.Group.Query().Where(group.NumberID(num.ID), group.ProviderGroupID(item.GroupID)).Only(ctx)
		if ent.IsNotFound(err) {
			if item.RequestID != "" {
				// perhaps ours, its request id not recorded yet: GroupOps.created applies it
				pending, err := tx.Group.Query().Where(group.NumberID(num.ID), group.StateEQ(group.StateCREATING),
					group.CreateRequestIDIsNil()).Exist(ctx)
				if err != nil || pending {
					return err
				}
			}
			g, err = in.adoptGroup(ctx, tx, num, item.GroupID, item.Subject)
		}
		if err != nil {
			return err
		}
	}
	if g == nil {
		return nil
	}
	return applyCreate(ctx, tx, in.pub, g, item)
}

// applyCreate applies a group_create item to the group that asked for it.
func applyCreate(ctx context.Context, tx *ent.Tx, pub *realtime.Publisher, g *ent.Group, item groupItem) error {
	u := tx.Group.UpdateOneID(g.ID)
	if len(item.Errors) > 0 {
		u.SetState(group.StateFAILED).SetStateReason("create: " + errorsText(item.Errors))
	} else {
		u.SetState(group.StateACTIVE).ClearStateReason().SetProviderGroupID(item.GroupID)
		if item.Subject != "" {
			u.SetSubject(truncate(item.Subject, 100)) // as the provider has it (trimmed)
		}
		if item.Description != "" {
			u.SetDescription(item.Description)
		}
		if item.InviteLink != "" {
			u.SetInviteLink(item.InviteLink)
		}
		if item.JoinApprovalMode != "" {
			u.SetJoinApproval(item.JoinApprovalMode == whatsapp.JoinApprovalRequired)
		}
	}
	if err := u.Exec(ctx); err != nil {
		return err
	}
	pub.OnCommit(tx, realtime.GroupEvent(g.TenantID, g.ID, realtime.KindCreated))
	return nil
}

// adoptGroup records a group the provider knows and the platform does not.
func (in *Ingester) adoptGroup(ctx context.Context, tx *ent.Tx, num *ent.Number, providerID, subject string) (*ent.Group, error) {
	if strings.TrimSpace(subject) == "" {
		subject = "WhatsApp group"
	}
	limit := 8
	if num.GroupMode != number.GroupModeCLOUD_API {
		limit = 1024
	}
	g, err := tx.Group.Create().SetNumberID(num.ID).SetSubject(truncate(subject, 100)).SetProviderGroupID(providerID).
		SetMemberLimit(limit).Save(ctx)
	if err != nil {
		return nil, err
	}
	in.pub.OnCommit(tx, realtime.GroupEvent(num.TenantID, g.ID, realtime.KindCreated))
	return g, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

func (in *Ingester) groupState(ctx context.Context, tx *ent.Tx, g *ent.Group, state group.State, reason string) error {
	u := tx.Group.UpdateOneID(g.ID).SetState(state)
	if reason == "" {
		u.ClearStateReason()
	} else {
		u.SetStateReason(reason)
	}
	if err := u.Exec(ctx); err != nil {
		return err
	}
	kind := realtime.KindStatusChanged
	if state == group.StateDELETED {
		kind = realtime.KindDeleted
	}
	in.pub.OnCommit(tx, realtime.GroupEvent(g.TenantID, g.ID, kind))
	return nil
}

// participantsAdded adds the members who joined; a pending join request of
// the same person is APPROVED (by whoever approved it here, or at the
// provider).
func (in *Ingester) participantsAdded(ctx context.Context, tx *ent.Tx, g *ent.Group, item groupItem) error {
	waIDs := participantIDs(item.Added)
	if len(waIDs) == 0 && item.WaID != "" {
		waIDs = []string{item.WaID}
	}
	for _, wa := range waIDs {
		exists, err := tx.GroupMember.Query().Where(groupmember.GroupID(g.ID), groupmember.WaID(wa)).Exist(ctx)
		if err != nil {
			return err
		}
		if !exists {
			name := ""
			if c, _, err := in.contact(ctx, tx, customerOf(whatsapp.Message{}, wa)); err == nil {
				name = c.ProfileName
			} else {
				return err
			}
			if err := tx.GroupMember.Create().SetGroupID(g.ID).SetWaID(wa).SetName(name).Exec(ctx); err != nil {
				return err
			}
		}
		// A request approved here is APPROVED already, with who and when; one
		// approved elsewhere (the provider, the app) is approved now.
		reqs, err := tx.GroupJoinRequest.Query().Where(groupjoinrequest.GroupID(g.ID), groupjoinrequest.WaID(wa),
			groupjoinrequest.StatusEQ(groupjoinrequest.StatusPENDING)).All(ctx)
		if err != nil {
			return err
		}
		for _, r := range reqs {
			u := r.Update().SetStatus(groupjoinrequest.StatusAPPROVED).SetError("").SetDecidedAt(in.clock.Now())
			if err := u.Exec(ctx); err != nil {
				return err
			}
			in.pub.OnCommit(tx, realtime.GroupJoinEvent(g.TenantID, g.ID, r.ID, realtime.KindJoinDecided))
		}
	}
	in.pub.OnCommit(tx, realtime.GroupEvent(g.TenantID, g.ID, realtime.KindAdded))
	return nil
}

// participantsRemoved removes the members who left or were removed; the
// ones the provider could not remove stay, and the group says why.
func (in *Ingester) participantsRemoved(ctx context.Context, tx *ent.Tx, g *ent.Group, item groupItem) error {
	waIDs := participantIDs(item.Removed)
	if len(waIDs) > 0 {
		if _, err := tx.GroupMember.Delete().Where(groupmember.GroupID(g.ID), groupmember.WaIDIn(waIDs...)).Exec(ctx); err != nil {
			return err
		}
	}
	if len(item.Errors) > 0 {
		if err := tx.Group.UpdateOneID(g.ID).SetStateReason("remove: " + errorsText(item.Errors)).Exec(ctx); err != nil {
			return err
		}
	}
	in.pub.OnCommit(tx, realtime.GroupEvent(g.TenantID, g.ID, realtime.KindDeleted))
	return nil
}

func participantIDs(ps []participant) []string {
	var out []string
	for _, p := range ps {
		wa := p.WaID
		if wa == "" {
			wa = p.Input
		}
		wa = strings.TrimPrefix(wa, "+")
		if wa != "" && !slices.Contains(out, wa) {
			out = append(out, wa)
		}
	}
	return out
}

// joinRequested records a pending join request, once per provider id.
func (in *Ingester) joinRequested(ctx context.Context, tx *ent.Tx, g *ent.Group, item groupItem) error {
	if item.WaID == "" {
		return nil
	}
	r, err := in.joinRequest(ctx, tx, g, item)
	if err != nil || r != nil {
		return err
	}
	c, _, err := in.contact(ctx, tx, customerOf(whatsapp.Message{}, item.WaID))
	if err != nil {
		return err
	}
	r, err = tx.GroupJoinRequest.Create().SetGroupID(g.ID).SetWaID(item.WaID).SetName(c.ProfileName).
		SetProviderRequestID(item.JoinRequestID).Save(ctx)
	if err != nil {
		return err
	}
	in.pub.OnCommit(tx, realtime.GroupJoinEvent(g.TenantID, g.ID, r.ID, realtime.KindJoinRequested))
	return nil
}

// joinRequest finds the request an item names, nil when none.
func (in *Ingester) joinRequest(ctx context.Context, tx *ent.Tx, g *ent.Group, item groupItem) (*ent.GroupJoinRequest, error) {
	q := tx.GroupJoinRequest.Query().Where(groupjoinrequest.GroupID(g.ID))
	if item.JoinRequestID != "" {
		q.Where(groupjoinrequest.ProviderRequestID(item.JoinRequestID))
	} else {
		q.Where(groupjoinrequest.WaID(item.WaID), groupjoinrequest.StatusEQ(groupjoinrequest.StatusPENDING))
	}
	r, err := q.First(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return r, err
}

// settingsUpdated applies the settings the provider changed; a setting it
// refused leaves the group as the provider has it and says why.
func (in *Ingester) settingsUpdated(ctx context.Context, tx *ent.Tx, g *ent.Group, item groupItem) error {
	u := tx.Group.UpdateOneID(g.ID)
	var refused []string
	apply := func(name string, s *settingText, set func(string)) {
		switch {
		case s == nil:
		case s.UpdateSuccessful:
			if set != nil && s.Text != "" {
				set(s.Text)
			}
		default:
			refused = append(refused, name+": "+errorsText(s.Errors))
		}
	}
	apply("subject", item.GroupSubject, func(t string) { u.SetSubject(truncate(t, 100)) })
	apply("description", item.GroupDescription, func(t string) { u.SetDescription(t) })
	apply("photo", item.ProfilePicture, nil)
	if len(item.Errors) > 0 {
		refused = append(refused, errorsText(item.Errors))
	}
	if len(refused) > 0 {
		u.SetStateReason("settings: " + strings.Join(refused, "; "))
	}
	if err := u.Exec(ctx); err != nil {
		return err
	}
	in.pub.OnCommit(tx, realtime.GroupEvent(g.TenantID, g.ID, realtime.KindUpdated))
	return nil
}

// conversationOf is where an inbound message goes: the contact's
// conversation, or, for a message in a group (providerGroupID set), the
// group's one conversation, whose contact stands for the group.
func (in *Ingester) conversationOf(ctx context.Context, tx *ent.Tx, num *ent.Number, c *ent.Contact, newContact bool, providerGroupID string) (*ent.Conversation, bool, error) {
	if providerGroupID == "" {
		return in.conversation(ctx, tx, num, c, newContact)
	}
	g, err := tx.Group.Query().Where(group.NumberID(num.ID), group.ProviderGroupID(providerGroupID)).Only(ctx)
	if ent.IsNotFound(err) {
		g, err = in.adoptGroup(ctx, tx, num, providerGroupID, "")
	}
	if err != nil {
		return nil, false, err
	}
	return GroupConversation(ctx, tx, g)
}

// GroupConversation returns group g's conversation, creating it (and the
// contact that stands for the group: its wa_id is the provider's group id,
// it has no phone) on first use.
func GroupConversation(ctx context.Context, tx *ent.Tx, g *ent.Group) (*ent.Conversation, bool, error) {
	conv, err := tx.Conversation.Query().Where(conversation.GroupID(g.ID)).Only(ctx)
	if err == nil || !ent.IsNotFound(err) {
		return conv, false, err
	}
	if g.ProviderGroupID == nil {
		return nil, false, errGroupNotReady
	}
	c, err := tx.Contact.Query().Where(contact.WaID(*g.ProviderGroupID)).Only(ctx)
	if ent.IsNotFound(err) {
		c, err = tx.Contact.Create().SetWaID(*g.ProviderGroupID).SetProfileName(g.Subject).Save(ctx)
	}
	if err != nil {
		return nil, false, err
	}
	conv, err = tx.Conversation.Create().SetNumberID(g.NumberID).SetContactID(c.ID).SetGroupID(g.ID).Save(ctx)
	return conv, true, err
}
