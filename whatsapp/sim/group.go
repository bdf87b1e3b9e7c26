package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // group pictures are JPEGs
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxGroupParticipants is the Cloud API's cap on a group's members, the
// business not counted.
const MaxGroupParticipants = 8

// AppMaxParticipants is the phone app's cap, for numbers in GroupModeApp.
const AppMaxParticipants = 1024

const (
	inviteLinkPrefix  = "https://chat.whatsapp.com/"
	maxGroupSubject   = 128
	maxGroupDescr     = 2048
	approvalRequired  = "approval_required"
	autoApprove       = "auto_approve"
	fieldGroupLife    = "group_lifecycle_update"
	fieldParticipants = "group_participants_update"
	fieldSettings     = "group_settings_update"
	fieldStatus       = "group_status_update"
)

// What a simulated customer may be refused in a group.
var (
	ErrUnknownGroup   = errors.New("sim: no such group")
	ErrGroupFull      = errors.New("sim: the group has all its participants")
	ErrNotParticipant = errors.New("sim: not a participant of the group")
	ErrAdminsOnly     = errors.New("sim: only admins may send messages to this group")
)

// Group is what the simulator knows of a group.
type Group struct {
	ID            string   `json:"id"`
	PhoneNumberID string   `json:"phone_number_id"`
	Subject       string   `json:"subject"`
	Description   string   `json:"description,omitempty"`
	InviteLink    string   `json:"invite_link"`
	NeedsApproval bool     `json:"needs_approval"`         // join_approval_mode is approval_required
	IsAdminsOnly  bool     `json:"admins_only"`            // only admins may send
	Participants  []string `json:"participants"`           // wa_ids, in join order
	Admins        []string `json:"admins"`                 // participants who are admins; the business always is
	JoinRequests  []string `json:"join_requests"`          // wa_ids waiting for approval
	PhotoSHA256   string   `json:"photo_sha256,omitempty"` // hex SHA-256 of the group's picture
}

type group struct {
	id, number           string
	subject, description string
	needsApproval        bool
	isAdminsOnly         bool
	inviteCode           string
	participants         []string
	admins               map[string]bool
	requests             []joinRequest
	created              time.Time
	photoSHA256          string // hex, of the picture last set
}

type joinRequest struct {
	id, waID string
	at       time.Time
}

func (g *group) public() Group {
	out := Group{
		ID: g.id, PhoneNumberID: g.number, Subject: g.subject, Description: g.description,
		InviteLink: inviteLinkPrefix + g.inviteCode, NeedsApproval: g.needsApproval, IsAdminsOnly: g.isAdminsOnly,
		Participants: slices.Clone(g.participants), PhotoSHA256: g.photoSHA256,
	}
	for _, p := range g.participants {
		if g.admins[p] {
			out.Admins = append(out.Admins, p)
		}
	}
	for _, r := range g.requests {
		out.JoinRequests = append(out.JoinRequests, r.waID)
	}
	return out
}

func (g *group) isParticipant(waID string) bool { return slices.Contains(g.participants, waID) }

// maxParticipants is the group's cap, with s.mu held: the Cloud API's, or
// the phone app's for a number in GroupModeApp.
func (s *Simulator) maxParticipants(g *group) int {
	if n := s.numbers[g.number]; n != nil && n.GroupMode == GroupModeApp {
		return AppMaxParticipants
	}
	return MaxGroupParticipants
}

func (g *group) approvalMode() string {
	if g.needsApproval {
		return approvalRequired
	}
	return autoApprove
}

// Groups lists the groups of a number.
func (s *Simulator) Groups(phoneNumberID string) []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Group
	for _, g := range s.groups {
		if g.number == phoneNumberID {
			out = append(out, g.public())
		}
	}
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Group returns one group.
func (s *Simulator) Group(id string) (Group, error) {
	var out Group
	err := s.withGroup(id, func(g *group) error {
		out = g.public()
		return nil
	})
	return out, err
}

// JoinGroup is a customer opening an invite link. In a group with join
// approval it creates a pending join request and returns its id; otherwise
// the customer joins at once and the id is empty. Either way the business
// gets a group_participants_update webhook.
func (s *Simulator) JoinGroup(inviteLink, waID, profileName string) (string, error) {
	code := strings.TrimPrefix(inviteLink, inviteLinkPrefix)
	waID = digits(waID)
	if waID == "" {
		return "", errors.New("sim: a customer joins with a wa_id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[s.invites[code]]
	if !ok {
		return "", fmt.Errorf("%w: invite link %q is not valid", ErrUnknownGroup, inviteLink)
	}
	return s.joinGroup(g, waID, profileName)
}

// joinGroup is JoinGroup with s.mu held.
func (s *Simulator) joinGroup(g *group, waID, profileName string) (string, error) {
	if g.isParticipant(waID) {
		return "", fmt.Errorf("sim: %s is already in group %s", waID, g.id)
	}
	s.rememberProfile(waID, profileName)
	if g.needsApproval {
		if i := slices.IndexFunc(g.requests, func(r joinRequest) bool { return r.waID == waID }); i >= 0 {
			return g.requests[i].id, nil
		}
		req := joinRequest{id: s.ids.token(), waID: waID, at: s.now()}
		g.requests = append(g.requests, req)
		s.emitGroupEvent(g, map[string]any{"type": "group_join_request_created", "join_request_id": req.id, "wa_id": waID})
		return req.id, nil
	}
	if len(g.participants) >= s.maxParticipants(g) {
		return "", ErrGroupFull
	}
	s.addParticipant(g, waID, "invite_link")
	return "", nil
}

// withGroup runs change on a group with s.mu held.
func (s *Simulator) withGroup(groupID string, change func(g *group) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupID]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownGroup, groupID)
	}
	return change(g)
}

// SetAdminsOnly turns on or off the group setting that lets only admins send.
func (s *Simulator) SetAdminsOnly(groupID string, isAdminsOnly bool) error {
	return s.withGroup(groupID, func(g *group) error {
		g.isAdminsOnly = isAdminsOnly
		return nil
	})
}

// SetAdmin makes a participant an admin of the group, or no longer one.
func (s *Simulator) SetAdmin(groupID, waID string, isAdmin bool) error {
	return s.withGroup(groupID, func(g *group) error {
		if !g.isParticipant(waID) {
			return fmt.Errorf("%w: %s", ErrNotParticipant, waID)
		}
		g.admins[waID] = isAdmin
		return nil
	})
}

// addParticipant adds a member and tells the business, with s.mu held.
func (s *Simulator) addParticipant(g *group, waID, reason string) {
	g.participants = append(g.participants, waID)
	s.emitGroupEvent(g, map[string]any{
		"type": "group_participants_add", "reason": reason,
		"added_participants": []map[string]string{{"input": waID, "wa_id": waID}},
	})
}

// emitGroupEvent posts a group webhook, with s.mu held: lifecycle events for
// group_create and group_delete, participant events otherwise.
func (s *Simulator) emitGroupEvent(g *group, event map[string]any) {
	event["timestamp"] = unixString(s.now())
	event["group_id"] = g.id
	field := fieldParticipants
	switch event["type"] {
	case "group_create", "group_delete":
		field = fieldGroupLife
	case "group_settings_update":
		field = fieldSettings
	case "group_suspend", "group_suspend_cleared":
		field = fieldStatus
	}
	s.emit(s.numberWebhook(field, s.numbers[g.number], map[string]any{"groups": []any{event}}))
}

// groupRoute wraps a handler of /{group_id}/...: the lock, then the group
// once the token is checked.
func (s *Simulator) groupRoute(h func(*http.Request, *group) (any, *apiError)) func(*http.Request) (any, *apiError) {
	return func(r *http.Request) (any, *apiError) {
		s.mu.Lock()
		defer s.mu.Unlock()
		g, err := s.groupNode(r)
		if err != nil {
			return nil, err
		}
		return h(r, g)
	}
}

// groupNode is, with s.mu held, the group the path names, once the token is
// checked.
func (s *Simulator) groupNode(r *http.Request) (*group, *apiError) {
	id := r.PathValue("node")
	g := s.groups[id]
	var owner *number
	if g != nil {
		owner = s.numbers[g.number]
	}
	if err := s.authorize(r, id, owner); err != nil {
		return nil, err
	}
	return g, nil
}

// createGroup answers POST /{phone_number_id}/groups. Like Meta it answers
// with a request id; the group id and invite link come in the
// group_lifecycle_update webhook (and from GET /{phone_number_id}/groups).
func (s *Simulator) createGroup(r *http.Request) (any, *apiError) {
	var in struct {
		MessagingProduct string `json:"messaging_product"`
		Subject          string `json:"subject"`
		Description      string `json:"description"`
		JoinApprovalMode string `json:"join_approval_mode"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.numberNode(r)
	if err != nil {
		return nil, err
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	in.Subject = strings.TrimSpace(in.Subject)
	switch {
	case in.MessagingProduct != "whatsapp":
		return nil, errInvalidParameter("The parameter messaging_product is required and must be 'whatsapp'.")
	case in.Subject == "" || utf8.RuneCountInString(in.Subject) > maxGroupSubject:
		return nil, errInvalidParameter("The parameter subject is required, at most %d characters.", maxGroupSubject)
	case utf8.RuneCountInString(in.Description) > maxGroupDescr:
		return nil, errInvalidParameter("description is longer than %d characters", maxGroupDescr)
	case in.JoinApprovalMode != "" && in.JoinApprovalMode != approvalRequired && in.JoinApprovalMode != autoApprove:
		return nil, errInvalidParameter("join_approval_mode %q is not %s or %s", in.JoinApprovalMode, approvalRequired, autoApprove)
	}
	g := &group{
		id: s.ids.groupID(n.DisplayPhone), number: n.PhoneNumberID,
		subject: in.Subject, description: in.Description, needsApproval: in.JoinApprovalMode == approvalRequired,
		inviteCode: s.ids.token(), admins: map[string]bool{}, created: s.now(),
	}
	s.groups[g.id] = g
	s.invites[g.inviteCode] = g.id
	requestID := s.ids.token()
	event := map[string]any{
		"type": "group_create", "request_id": requestID, "subject": g.subject,
		"invite_link": inviteLinkPrefix + g.inviteCode, "join_approval_mode": g.approvalMode(),
	}
	if g.description != "" {
		event["description"] = g.description
	}
	s.emitGroupEvent(g, event)
	return map[string]string{"messaging_product": "whatsapp", "request_id": requestID}, nil
}

// listGroups answers GET /{phone_number_id}/groups: the active groups.
func (s *Simulator) listGroups(r *http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.numberNode(r)
	if err != nil {
		return nil, err
	}
	groups := []map[string]any{}
	for _, g := range s.groups {
		if g.number == n.PhoneNumberID {
			groups = append(groups, map[string]any{"id": g.id, "subject": g.subject, "created_at": g.created.Unix()})
		}
	}
	slices.SortFunc(groups, func(a, b map[string]any) int { return strings.Compare(a["id"].(string), b["id"].(string)) })
	return map[string]any{"data": map[string]any{"groups": groups}, "paging": emptyPaging}, nil
}

var emptyPaging = map[string]any{"cursors": map[string]string{"before": "", "after": ""}}

// groupInfo answers GET /{group_id}, with s.mu held.
func (s *Simulator) groupInfo(r *http.Request) (any, *apiError) {
	g, err := s.groupNode(r)
	if err != nil {
		return nil, err
	}
	participants := make([]map[string]string, len(g.participants))
	for i, p := range g.participants {
		participants[i] = map[string]string{"wa_id": p}
	}
	return map[string]any{
		"id": g.id, "messaging_product": "whatsapp", "subject": g.subject, "description": g.description,
		"join_approval_mode": g.approvalMode(), "suspended": false, "creation_timestamp": g.created.Unix(),
		"participants": participants, "total_participant_count": len(g.participants),
	}, nil
}

// deleteGroup answers DELETE /{group_id}, with s.mu held.
func (s *Simulator) deleteGroup(r *http.Request) (any, *apiError) {
	g, err := s.groupNode(r)
	if err != nil {
		return nil, err
	}
	delete(s.groups, g.id)
	delete(s.invites, g.inviteCode)
	s.emitGroupEvent(g, map[string]any{"type": "group_delete", "request_id": s.ids.token()})
	return success, nil
}

func inviteLinkAnswer(g *group) map[string]string {
	return map[string]string{"messaging_product": "whatsapp", "invite_link": inviteLinkPrefix + g.inviteCode}
}

// getInviteLink answers GET /{group_id}/invite_link.
func (s *Simulator) getInviteLink(r *http.Request, g *group) (any, *apiError) {
	return inviteLinkAnswer(g), nil
}

// resetInviteLink answers POST /{group_id}/invite_link: a new link, and the
// old one stops working.
func (s *Simulator) resetInviteLink(r *http.Request, g *group) (any, *apiError) {
	delete(s.invites, g.inviteCode)
	g.inviteCode = s.ids.token()
	s.invites[g.inviteCode] = g.id
	return inviteLinkAnswer(g), nil
}

// listJoinRequests answers GET /{group_id}/join_requests.
func (s *Simulator) listJoinRequests(r *http.Request, g *group) (any, *apiError) {
	data := make([]map[string]any, len(g.requests))
	for i, req := range g.requests {
		data[i] = map[string]any{"join_request_id": req.id, "wa_id": req.waID, "creation_timestamp": req.at.Unix()}
	}
	return map[string]any{"data": data, "paging": emptyPaging}, nil
}

// approveJoinRequests answers POST /{group_id}/join_requests.
func (s *Simulator) approveJoinRequests(r *http.Request, g *group) (any, *apiError) {
	return s.decideJoinRequests(r, g, true)
}

// rejectJoinRequests answers DELETE /{group_id}/join_requests.
func (s *Simulator) rejectJoinRequests(r *http.Request, g *group) (any, *apiError) {
	return s.decideJoinRequests(r, g, false)
}

func (s *Simulator) decideJoinRequests(r *http.Request, g *group, isApproval bool) (any, *apiError) {
	var in struct {
		MessagingProduct string   `json:"messaging_product"`
		JoinRequests     []string `json:"join_requests"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.MessagingProduct != "whatsapp" || len(in.JoinRequests) == 0 {
		return nil, errInvalidParameter("messaging_product 'whatsapp' and join_requests are required")
	}
	done, failed := []string{}, []map[string]any{}
	fail := func(id string, code int, details string) {
		failed = append(failed, map[string]any{"join_request_id": id, "errors": []map[string]any{{
			"code": code, "title": "Join request not processed", "message": details, "error_data": map[string]string{"details": details},
		}}})
	}
	for _, id := range in.JoinRequests {
		i := slices.IndexFunc(g.requests, func(req joinRequest) bool { return req.id == id })
		switch {
		case i < 0:
			fail(id, 100, "no open join request has this id")
		case isApproval && len(g.participants) >= s.maxParticipants(g):
			fail(id, 100, fmt.Sprintf("the group has its %d participants", s.maxParticipants(g)))
		default:
			req := g.requests[i]
			g.requests = slices.Delete(g.requests, i, i+1)
			if isApproval {
				s.addParticipant(g, req.waID, "join_request")
			}
			done = append(done, id)
		}
	}
	key := "rejected_join_requests"
	if isApproval {
		key = "approved_join_requests"
	}
	return map[string]any{"messaging_product": "whatsapp", key: done, "failed_join_requests": failed}, nil
}

// removeParticipants answers DELETE /{group_id}/participants.
func (s *Simulator) removeParticipants(r *http.Request, g *group) (any, *apiError) {
	var in struct {
		MessagingProduct string `json:"messaging_product"`
		Participants     []struct {
			User string `json:"user"`
		} `json:"participants"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.MessagingProduct != "whatsapp" || len(in.Participants) == 0 || len(in.Participants) > s.maxParticipants(g) {
		return nil, errInvalidParameter("messaging_product 'whatsapp' and 1 to %d participants are required", s.maxParticipants(g))
	}
	removed, failed := []map[string]string{}, []map[string]string{}
	for _, p := range in.Participants {
		waID := digits(p.User)
		i := slices.Index(g.participants, waID)
		if i < 0 {
			failed = append(failed, map[string]string{"input": p.User})
			continue
		}
		g.participants = slices.Delete(g.participants, i, i+1)
		delete(g.admins, waID)
		removed = append(removed, map[string]string{"input": p.User, "wa_id": waID})
	}
	event := map[string]any{"type": "group_participants_remove", "initiated_by": "business", "removed_participants": removed}
	if len(failed) > 0 {
		event["failed_participants"] = failed
	}
	s.emitGroupEvent(g, event)
	return success, nil
}

// updateGroup answers POST /{group_id}: a new subject or description. As at
// Meta the answer is a success and the outcome comes in a
// group_settings_update webhook.
func (s *Simulator) updateGroup(r *http.Request, g *group) (any, *apiError) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		return s.setGroupPhoto(r, g)
	}
	var in struct {
		MessagingProduct string  `json:"messaging_product"`
		Subject          *string `json:"subject"`
		Description      *string `json:"description"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.MessagingProduct != "whatsapp" || (in.Subject == nil && in.Description == nil) {
		return nil, errInvalidParameter("messaging_product 'whatsapp' and a subject or description are required")
	}
	event := map[string]any{"type": "group_settings_update", "request_id": s.ids.token()}
	if in.Subject != nil {
		subject := strings.TrimSpace(*in.Subject)
		ok := subject != "" && utf8.RuneCountInString(subject) <= maxGroupSubject
		setting := map[string]any{"text": subject, "update_successful": ok}
		if ok {
			g.subject = subject
		} else {
			setting["errors"] = []map[string]any{{"code": 131009, "title": "Parameter value is not valid",
				"message": "Parameter value is not valid", "error_data": map[string]string{"details": "invalid subject"}}}
		}
		event["group_subject"] = setting
	}
	if in.Description != nil {
		ok := utf8.RuneCountInString(*in.Description) <= maxGroupDescr
		if ok {
			g.description = *in.Description
		}
		event["group_description"] = map[string]any{"text": *in.Description, "update_successful": ok}
	}
	s.emitGroupEvent(g, event)
	return success, nil
}

// addParticipants answers POST /{group_id}/participants: members added by
// number, which only a number in GroupModeApp does (the Groups API has no
// such call: members join by invite link).
func (s *Simulator) addParticipants(r *http.Request, g *group) (any, *apiError) {
	if s.maxParticipants(g) == MaxGroupParticipants {
		return nil, errInvalidParameter("participants cannot be added by number: they join with the group's invite link")
	}
	var in struct {
		MessagingProduct string `json:"messaging_product"`
		Participants     []struct {
			User string `json:"user"`
		} `json:"participants"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.MessagingProduct != "whatsapp" || len(in.Participants) == 0 {
		return nil, errInvalidParameter("messaging_product 'whatsapp' and participants are required")
	}
	var add []string
	for _, p := range in.Participants {
		if waID := digits(p.User); waID != "" && !g.isParticipant(waID) && !slices.Contains(add, waID) {
			add = append(add, waID)
		}
	}
	if len(g.participants)+len(add) > s.maxParticipants(g) {
		return nil, errInvalidParameter("the group has room for %d more participants", s.maxParticipants(g)-len(g.participants))
	}
	added := make([]map[string]string, len(add))
	for i, waID := range add {
		g.participants = append(g.participants, waID)
		added[i] = map[string]string{"input": waID, "wa_id": waID}
	}
	if len(added) > 0 {
		s.emitGroupEvent(g, map[string]any{"type": "group_participants_add", "reason": "added", "added_participants": added})
	}
	return success, nil
}

// CancelJoinRequest is a customer withdrawing their request to join: the
// business gets a group_join_request_revoked webhook.
func (s *Simulator) CancelJoinRequest(groupID, waID string) error {
	return s.withGroup(groupID, func(g *group) error {
		i := slices.IndexFunc(g.requests, func(r joinRequest) bool { return r.waID == waID })
		if i < 0 {
			return fmt.Errorf("sim: %s has no pending request in %s", waID, groupID)
		}
		req := g.requests[i]
		g.requests = slices.Delete(g.requests, i, i+1)
		s.emitGroupEvent(g, map[string]any{"type": "group_join_request_revoked", "join_request_id": req.id, "wa_id": waID})
		return nil
	})
}

// LeaveGroup is a participant leaving: the business gets a
// group_participants_remove webhook initiated by the participant.
func (s *Simulator) LeaveGroup(groupID, waID string) error {
	return s.withGroup(groupID, func(g *group) error {
		i := slices.Index(g.participants, waID)
		if i < 0 {
			return fmt.Errorf("%w: %s", ErrNotParticipant, waID)
		}
		g.participants = slices.Delete(g.participants, i, i+1)
		delete(g.admins, waID)
		s.emitGroupEvent(g, map[string]any{"type": "group_participants_remove", "initiated_by": "participant",
			"removed_participants": []map[string]string{{"wa_id": waID}}})
		return nil
	})
}

// SuspendGroup is WhatsApp suspending a group (or lifting the suspension):
// the business gets a group_status_update webhook.
func (s *Simulator) SuspendGroup(groupID string, isSuspended bool) error {
	return s.withGroup(groupID, func(g *group) error {
		t := "group_suspend"
		if !isSuspended {
			t = "group_suspend_cleared"
		}
		s.emitGroupEvent(g, map[string]any{"type": t})
		return nil
	})
}

// customerJoins has a simulated customer open the invite link of one of the
// number's groups they are not in nor waiting for, with s.mu held; false
// when there is none.
func (s *Simulator) customerJoins(phoneNumberID string, c customer) bool {
	var open []*group
	for _, g := range s.groups {
		waiting := slices.ContainsFunc(g.requests, func(r joinRequest) bool { return r.waID == c.waID })
		if g.number == phoneNumberID && !g.isParticipant(c.waID) && !waiting && len(g.participants) < s.maxParticipants(g) {
			open = append(open, g)
		}
	}
	if len(open) == 0 {
		return false
	}
	slices.SortFunc(open, func(a, b *group) int { return strings.Compare(a.id, b.id) })
	_, err := s.joinGroup(open[s.rng.IntN(len(open))], c.waID, c.name)
	return err == nil
}

// maxGroupPhotoBytes and minGroupPhotoSide are Meta's rules for a group's
// picture: a square JPEG, at least 192×192, at most 5 MB.
const (
	maxGroupPhotoBytes = 5 << 20
	minGroupPhotoSide  = 192
)

// setGroupPhoto answers POST /{group_id} as a multipart form (messaging_product
// and file): a new picture. As for the subject, the outcome comes in a
// group_settings_update webhook (profile_picture), refused when the file is
// not a square JPEG of at least 192×192.
func (s *Simulator) setGroupPhoto(r *http.Request, g *group) (any, *apiError) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxGroupPhotoBytes+1<<20)
	if err := r.ParseMultipartForm(maxGroupPhotoBytes); err != nil {
		return nil, errInvalidParameter("the upload is not a multipart form: %v", err)
	}
	if r.FormValue("messaging_product") != "whatsapp" {
		return nil, errInvalidParameter("The parameter messaging_product is required and must be 'whatsapp'.")
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		return nil, errInvalidParameter("The parameter file is required.")
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxGroupPhotoBytes+1))
	if err != nil || len(data) > maxGroupPhotoBytes {
		return nil, errInvalidParameter("the picture is larger than %d bytes", maxGroupPhotoBytes)
	}
	setting := map[string]any{"update_successful": true}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || format != "jpeg" || cfg.Width != cfg.Height || cfg.Width < minGroupPhotoSide {
		setting = map[string]any{"update_successful": false, "errors": []map[string]any{{"code": 131009,
			"title": "Parameter value is not valid", "message": "Parameter value is not valid",
			"error_data": map[string]string{"details": "the picture must be a square JPEG of at least 192x192"}}}}
	} else {
		sum := sha256.Sum256(data)
		g.photoSHA256 = hex.EncodeToString(sum[:])
	}
	s.emitGroupEvent(g, map[string]any{"type": "group_settings_update", "request_id": s.ids.token(), "profile_picture": setting})
	return success, nil
}
