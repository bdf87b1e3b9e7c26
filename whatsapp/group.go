package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
)

// The Groups API (Meta's Cloud API, for Official Business Accounts): groups
// of at most 8 participants who join by invite link, optionally with the
// business's approval. Creation, deletion and settings changes are
// asynchronous: the answer carries a request id and the outcome comes in a
// group_lifecycle_update or group_settings_update webhook.

// Join approval modes of a group.
const (
	JoinApprovalRequired = "approval_required"
	JoinAutoApprove      = "auto_approve"
)

// GroupTo addresses a send to a group: Send* called with GroupTo(id) as
// recipient posts with recipient_type "group".
func GroupTo(groupID string) string { return groupRecipient + groupID }

const groupRecipient = "group:"

// NewGroup is what CreateGroup asks for.
type NewGroup struct {
	Subject          string
	Description      string
	JoinApprovalMode string // JoinApprovalRequired or JoinAutoApprove (the default)
}

// CreateGroup asks for a new group on the number and returns the request id
// that the group_lifecycle_update webhook will carry with the group's id and
// invite link.
func (c *Client) CreateGroup(ctx context.Context, phoneNumberID, token string, g NewGroup) (string, error) {
	if strings.TrimSpace(g.Subject) == "" {
		return "", fmt.Errorf("whatsapp: create group: %w: no subject", ErrInvalidRequest)
	}
	in := map[string]any{"messaging_product": "whatsapp", "subject": g.Subject}
	if g.Description != "" {
		in["description"] = g.Description
	}
	if g.JoinApprovalMode != "" {
		in["join_approval_mode"] = g.JoinApprovalMode
	}
	var out struct {
		RequestID string `json:"request_id"`
	}
	if err := c.call(ctx, http.MethodPost, phoneNumberID, "groups", token, nil, in, &out); err != nil {
		return "", fmt.Errorf("whatsapp: create group on %s: %w", phoneNumberID, err)
	}
	return out.RequestID, nil
}

// GroupSettings is what UpdateGroup changes; nil leaves a setting as it is.
type GroupSettings struct {
	Subject     *string
	Description *string
}

// UpdateGroup changes a group's subject or description. The outcome comes
// in a group_settings_update webhook.
func (c *Client) UpdateGroup(ctx context.Context, token, groupID string, s GroupSettings) error {
	in := map[string]any{"messaging_product": "whatsapp"}
	if s.Subject != nil {
		in["subject"] = *s.Subject
	}
	if s.Description != nil {
		in["description"] = *s.Description
	}
	return c.groupCall(ctx, http.MethodPost, groupID, "", token, in, nil, "update group")
}

// SetGroupPhoto sets a group's picture: a square JPEG of at least 192×192
// pixels, at most 5 MB, sent as a multipart form (POST /{group_id} with
// messaging_product and file). The outcome comes in a group_settings_update
// webhook (profile_picture).
func (c *Client) SetGroupPhoto(ctx context.Context, token, groupID string, jpeg []byte) error {
	if !isGroupID(groupID) {
		return fmt.Errorf("whatsapp: set group photo: %w: group id %q is not a Groups API id", ErrInvalidRequest, groupID)
	}
	if token == "" {
		return fmt.Errorf("whatsapp: set group photo: %w: no access token", ErrInvalidRequest)
	}
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	_ = form.WriteField("messaging_product", "whatsapp")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="photo.jpg"`)
	h.Set("Content-Type", "image/jpeg")
	part, err := form.CreatePart(h)
	if err == nil {
		_, err = part.Write(jpeg)
	}
	if err == nil {
		err = form.Close()
	}
	if err != nil {
		return fmt.Errorf("whatsapp: set group photo: %w: %w", ErrInvalidRequest, err)
	}
	var out map[string]any
	if err := c.request(ctx, http.MethodPost, c.url(groupID, "", nil), token, &body, form.FormDataContentType(), &out); err != nil {
		return fmt.Errorf("whatsapp: set group photo %s: %w", groupID, err)
	}
	return nil
}

// DeleteGroup deletes a group; every participant is removed.
func (c *Client) DeleteGroup(ctx context.Context, token, groupID string) error {
	return c.groupCall(ctx, http.MethodDelete, groupID, "", token, nil, nil, "delete group")
}

// ResetInviteLink replaces a group's invite link and returns the new one.
func (c *Client) ResetInviteLink(ctx context.Context, token, groupID string) (string, error) {
	var out struct {
		InviteLink string `json:"invite_link"`
	}
	err := c.groupCall(ctx, http.MethodPost, groupID, "invite_link", token, map[string]any{"messaging_product": "whatsapp"}, &out, "reset invite link")
	return out.InviteLink, err
}

// JoinDecision is the answer to ApproveJoinRequests or RejectJoinRequests:
// the requests done, and those the provider refused with its reason.
type JoinDecision struct {
	Done   []string
	Failed map[string]string // join request id → reason
}

// ApproveJoinRequests approves pending join requests; the participants come
// in group_participants_update webhooks.
func (c *Client) ApproveJoinRequests(ctx context.Context, token, groupID string, ids []string) (JoinDecision, error) {
	return c.decideJoinRequests(ctx, http.MethodPost, token, groupID, ids, "approved_join_requests")
}

// RejectJoinRequests rejects pending join requests.
func (c *Client) RejectJoinRequests(ctx context.Context, token, groupID string, ids []string) (JoinDecision, error) {
	return c.decideJoinRequests(ctx, http.MethodDelete, token, groupID, ids, "rejected_join_requests")
}

func (c *Client) decideJoinRequests(ctx context.Context, method, token, groupID string, ids []string, doneKey string) (JoinDecision, error) {
	if len(ids) == 0 {
		return JoinDecision{}, fmt.Errorf("whatsapp: join requests: %w: none given", ErrInvalidRequest)
	}
	var out map[string]any
	in := map[string]any{"messaging_product": "whatsapp", "join_requests": ids}
	if err := c.groupCall(ctx, method, groupID, "join_requests", token, in, &out, "decide join requests"); err != nil {
		return JoinDecision{}, err
	}
	d := JoinDecision{Failed: map[string]string{}}
	if done, ok := out[doneKey].([]any); ok {
		for _, id := range done {
			if s, ok := id.(string); ok {
				d.Done = append(d.Done, s)
			}
		}
	}
	if failed, ok := out["failed_join_requests"].([]any); ok {
		for _, f := range failed {
			m, _ := f.(map[string]any)
			id, _ := m["join_request_id"].(string)
			reason := "refused by the provider"
			if errs, ok := m["errors"].([]any); ok && len(errs) > 0 {
				if e, ok := errs[0].(map[string]any); ok {
					if msg, ok := e["message"].(string); ok && msg != "" {
						reason = msg
					}
				}
			}
			if id != "" {
				d.Failed[id] = reason
			}
		}
	}
	return d, nil
}

// RemoveParticipants removes participants (wa_ids) from a group; the
// outcome comes in a group_participants_update webhook.
func (c *Client) RemoveParticipants(ctx context.Context, token, groupID string, waIDs []string) error {
	if len(waIDs) == 0 {
		return fmt.Errorf("whatsapp: remove participants: %w: none given", ErrInvalidRequest)
	}
	users := make([]map[string]string, len(waIDs))
	for i, w := range waIDs {
		users[i] = map[string]string{"user": w}
	}
	in := map[string]any{"messaging_product": "whatsapp", "participants": users}
	return c.groupCall(ctx, http.MethodDelete, groupID, "participants", token, in, nil, "remove participants")
}

// AddParticipants adds participants by wa_id. The Cloud API's Groups API
// has no such call (members join by invite link): only the simulator
// configured like the phone app answers it.
func (c *Client) AddParticipants(ctx context.Context, token, groupID string, waIDs []string) error {
	users := make([]map[string]string, len(waIDs))
	for i, w := range waIDs {
		users[i] = map[string]string{"user": w}
	}
	in := map[string]any{"messaging_product": "whatsapp", "participants": users}
	return c.groupCall(ctx, http.MethodPost, groupID, "participants", token, in, nil, "add participants")
}

// groupCall calls /{group_id}[/{edge}] and checks the answer; out nil
// expects {"success": true} or any 2xx JSON.
func (c *Client) groupCall(ctx context.Context, method, groupID, edge, token string, in, out any, what string) error {
	if !isGroupID(groupID) {
		return fmt.Errorf("whatsapp: %s: %w: group id %q is not a Groups API id", what, ErrInvalidRequest, groupID)
	}
	if out == nil {
		var v map[string]any
		out = &v
	}
	if err := c.do(ctx, method, groupID, edge, token, nil, in, out); err != nil {
		return fmt.Errorf("whatsapp: %s %s: %w", what, groupID, err)
	}
	return nil
}

// isGroupID reports whether id can be a Groups API group id: base64url
// (letters, digits, - and _, = padding), nothing that changes the path.
func isGroupID(id string) bool {
	if id == "" || len(id) > 512 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '=':
		default:
			return false
		}
	}
	return true
}

// errGroupRecipient: a group recipient with an id that cannot be one.
var errGroupRecipient = errors.New("the group id is not a Groups API id")
