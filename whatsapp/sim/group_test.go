package sim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

// groupEvent is an item of the groups[] of a group webhook.
type groupEvent struct {
	Type             string `json:"type"`
	GroupID          string `json:"group_id"`
	RequestID        string `json:"request_id"`
	InviteLink       string `json:"invite_link"`
	JoinApprovalMode string `json:"join_approval_mode"`
	JoinRequestID    string `json:"join_request_id"`
	WAID             string `json:"wa_id"`
	Added            []struct {
		WAID string `json:"wa_id"`
	} `json:"added_participants"`
	Removed []struct {
		WAID string `json:"wa_id"`
	} `json:"removed_participants"`
}

// groupEvents waits for a group webhook of this type and returns every one received.
func (b *testBundle) groupEvents(t *testing.T, field, eventType string, n int) []groupEvent {
	t.Helper()
	var events []groupEvent
	require.Eventually(t, func() bool {
		events = events[:0]
		for _, c := range b.hooks.snapshot() {
			if c.Field != field {
				continue
			}
			var value struct {
				Metadata struct {
					PhoneNumberID string `json:"phone_number_id"`
				} `json:"metadata"`
				Groups []groupEvent `json:"groups"`
			}
			if json.Unmarshal(c.Raw, &value) != nil || value.Metadata.PhoneNumberID != testNumber {
				return false
			}
			for _, e := range value.Groups {
				if e.Type == eventType {
					events = append(events, e)
				}
			}
		}
		return len(events) >= n
	}, waitFor, time.Millisecond, "%d %s webhooks never came", n, eventType)
	return events
}

// createGroup creates a group through the API and learns its id and invite
// link from the webhook, as a connector does.
func (b *testBundle) createGroup(t *testing.T, approvalMode string) groupEvent {
	t.Helper()
	status, out := b.call(t, http.MethodPost, "/v23.0/"+testNumber+"/groups", testToken, map[string]any{
		"messaging_product": "whatsapp", "subject": " Purchase inquiry ", "description": "New car options", "join_approval_mode": approvalMode,
	})
	require.Equal(t, http.StatusOK, status, out)
	requestID := out["request_id"].(string)
	for _, e := range b.groupEvents(t, "group_lifecycle_update", "group_create", 1) {
		if e.RequestID == requestID {
			return e
		}
	}
	t.Fatalf("no group_create webhook for request %s", requestID)
	return groupEvent{}
}

func TestCreateGroup(t *testing.T) {
	t.Parallel()
	b := setup(t)

	created := b.createGroup(t, "")

	require.NotEmpty(t, created.GroupID)
	require.Equal(t, "auto_approve", created.JoinApprovalMode)
	require.Regexp(t, `^https://chat\.whatsapp\.com/\w+$`, created.InviteLink)

	status, out := b.call(t, http.MethodGet, "/v23.0/"+testNumber+"/groups", testToken, nil)
	require.Equal(t, http.StatusOK, status)
	groups := out["data"].(map[string]any)["groups"].([]any)
	require.Len(t, groups, 1)
	require.Equal(t, created.GroupID, groups[0].(map[string]any)["id"])

	status, out = b.call(t, http.MethodGet, "/v23.0/"+created.GroupID, testToken, nil)
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, "Purchase inquiry", out["subject"], "whitespace is trimmed")
	require.Equal(t, "New car options", out["description"])
	require.Equal(t, float64(0), out["total_participant_count"])

	status, out = b.call(t, http.MethodGet, "/v23.0/"+created.GroupID+"/invite_link", testToken, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, created.InviteLink, out["invite_link"])

	status, out = b.call(t, http.MethodGet, "/v23.0/"+created.GroupID, "other", nil)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, whatsapp.CodeTokenExpired, errorCode(t, out))
}

func TestCreateGroupRefusesBadInput(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		body map[string]any
	}{
		{"no subject", map[string]any{"messaging_product": "whatsapp", "subject": "  "}},
		{"no messaging product", map[string]any{"subject": "Team"}},
		{"unknown approval mode", map[string]any{"messaging_product": "whatsapp", "subject": "Team", "join_approval_mode": "vote"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			status, out := b.call(t, http.MethodPost, "/v23.0/"+testNumber+"/groups", testToken, tt.body)
			require.Equal(t, http.StatusBadRequest, status)
			require.Equal(t, whatsapp.CodeInvalidParameter, errorCode(t, out))
		})
	}
}

func TestJoinWithoutApprovalUpToTheCap(t *testing.T) {
	t.Parallel()
	b := setup(t)
	created := b.createGroup(t, "auto_approve")

	for i := range sim.MaxGroupParticipants {
		requestID, err := b.sim.JoinGroup(created.InviteLink, fmt.Sprintf("3460000000%d", i), "")
		require.NoError(t, err)
		require.Empty(t, requestID, "joined at once")
	}
	_, err := b.sim.JoinGroup(created.InviteLink, "34699999999", "")
	require.ErrorIs(t, err, sim.ErrGroupFull)

	added := b.groupEvents(t, "group_participants_update", "group_participants_add", sim.MaxGroupParticipants)
	require.Equal(t, created.GroupID, added[0].GroupID)
	g, err := b.sim.Group(created.GroupID)
	require.NoError(t, err)
	require.Len(t, g.Participants, sim.MaxGroupParticipants)
}

func TestResetInviteLink(t *testing.T) {
	t.Parallel()
	b := setup(t)
	created := b.createGroup(t, "")

	status, out := b.call(t, http.MethodPost, "/v23.0/"+created.GroupID+"/invite_link", testToken, map[string]any{"messaging_product": "whatsapp"})

	require.Equal(t, http.StatusOK, status)
	fresh := out["invite_link"].(string)
	require.NotEqual(t, created.InviteLink, fresh)
	_, err := b.sim.JoinGroup(created.InviteLink, testCustomer, "")
	require.ErrorIs(t, err, sim.ErrUnknownGroup, "the old link is dead")
	_, err = b.sim.JoinGroup(fresh, testCustomer, "")
	require.NoError(t, err)
}

func TestJoinApproval(t *testing.T) {
	t.Parallel()
	b := setup(t)
	created := b.createGroup(t, "approval_required")
	path := "/v23.0/" + created.GroupID + "/join_requests"

	sheena, err := b.sim.JoinGroup(created.InviteLink, testCustomer, "Sheena Nelson")
	require.NoError(t, err)
	require.NotEmpty(t, sheena, "a pending join request")
	amir, err := b.sim.JoinGroup(created.InviteLink, "34600000001", "Amir Haddad")
	require.NoError(t, err)
	requested := b.groupEvents(t, "group_participants_update", "group_join_request_created", 2)
	require.ElementsMatch(t, []string{sheena, amir}, []string{requested[0].JoinRequestID, requested[1].JoinRequestID})

	status, out := b.call(t, http.MethodGet, path, testToken, nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, out["data"], 2)
	_, err = b.sim.WriteIn(testNumber, testCustomer, whatsapp.Message{Text: "hi all", GroupID: created.GroupID})
	require.ErrorIs(t, err, sim.ErrNotParticipant, "a pending member cannot write yet")

	status, out = b.call(t, http.MethodPost, path, testToken, map[string]any{"messaging_product": "whatsapp", "join_requests": []string{sheena, "nope"}})
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, []any{sheena}, out["approved_join_requests"])
	require.Len(t, out["failed_join_requests"], 1)

	status, out = b.call(t, http.MethodDelete, path, testToken, map[string]any{"messaging_product": "whatsapp", "join_requests": []string{amir}})
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, []any{amir}, out["rejected_join_requests"])

	g, err := b.sim.Group(created.GroupID)
	require.NoError(t, err)
	require.Equal(t, []string{testCustomer}, g.Participants)
	require.Empty(t, g.JoinRequests)
	added := b.groupEvents(t, "group_participants_update", "group_participants_add", 1)
	require.Equal(t, testCustomer, added[0].Added[0].WAID)
	_, err = b.sim.WriteIn(testNumber, testCustomer, whatsapp.Message{Text: "hi all", GroupID: created.GroupID})
	require.NoError(t, err)
}

func TestAdminsOnlyGroup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	created := b.createGroup(t, "")
	for _, waID := range []string{testCustomer, "34600000001"} {
		_, err := b.sim.JoinGroup(created.InviteLink, waID, "")
		require.NoError(t, err)
	}

	wamid, err := b.sim.WriteIn(testNumber, testCustomer, whatsapp.Message{Text: "hi all", GroupID: created.GroupID})
	require.NoError(t, err)
	_, got := b.hooks.waitMessage(t, wamid)
	require.Equal(t, created.GroupID, got.GroupID)

	require.NoError(t, b.sim.SetAdminsOnly(created.GroupID, true))
	_, err = b.sim.WriteIn(testNumber, testCustomer, whatsapp.Message{Text: "hello?", GroupID: created.GroupID})
	require.ErrorIs(t, err, sim.ErrAdminsOnly)

	require.NoError(t, b.sim.SetAdmin(created.GroupID, testCustomer, true))
	_, err = b.sim.WriteIn(testNumber, testCustomer, whatsapp.Message{Text: "admin here", GroupID: created.GroupID})
	require.NoError(t, err)
	_, err = b.sim.WriteIn(testNumber, "34600000001", whatsapp.Message{Text: "me too?", GroupID: created.GroupID})
	require.ErrorIs(t, err, sim.ErrAdminsOnly)

	_, err = b.client.SendText(t.Context(), testNumber, testToken, testCustomer, "x", "")
	require.Error(t, err, "a group message does not open the 1:1 window")
	status, out := b.call(t, http.MethodPost, "/v23.0/"+testNumber+"/messages", testToken, map[string]any{
		"messaging_product": "whatsapp", "recipient_type": "group", "to": created.GroupID, "type": "text", "text": map[string]any{"body": "The business is an admin"},
	})
	require.Equal(t, http.StatusOK, status, out)
}

func TestRemoveParticipants(t *testing.T) {
	t.Parallel()
	b := setup(t)
	created := b.createGroup(t, "")
	_, err := b.sim.JoinGroup(created.InviteLink, testCustomer, "")
	require.NoError(t, err)

	status, out := b.call(t, http.MethodDelete, "/v23.0/"+created.GroupID+"/participants", testToken, map[string]any{
		"messaging_product": "whatsapp", "participants": []map[string]string{{"user": "+" + testCustomer}},
	})

	require.Equal(t, http.StatusOK, status, out)
	removed := b.groupEvents(t, "group_participants_update", "group_participants_remove", 1)
	require.Equal(t, testCustomer, removed[0].Removed[0].WAID)
	_, err = b.sim.WriteIn(testNumber, testCustomer, whatsapp.Message{Text: "let me back", GroupID: created.GroupID})
	require.ErrorIs(t, err, sim.ErrNotParticipant)
}

func TestSendToGroup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	created := b.createGroup(t, "")
	members := []string{testCustomer, "34600000001"}
	for _, waID := range members {
		_, err := b.sim.JoinGroup(created.InviteLink, waID, "")
		require.NoError(t, err)
	}
	send := func(kind string, content any) (int, map[string]any) {
		return b.call(t, http.MethodPost, "/v23.0/"+testNumber+"/messages", testToken, map[string]any{
			"messaging_product": "whatsapp", "recipient_type": "group", "to": created.GroupID, "type": kind, kind: content,
		})
	}

	status, out := send("text", map[string]any{"body": "Welcome, both of you"})

	require.Equal(t, http.StatusOK, status, out)
	wamid := out["messages"].([]any)[0].(map[string]any)["id"].(string)
	statuses := b.hooks.waitStatuses(t, wamid, 5)
	require.Equal(t, []string{"sent", "delivered", "delivered", "read", "read"}, statusNames(statuses))
	for _, s := range statuses {
		require.Equal(t, created.GroupID, s.RecipientID)
		require.Equal(t, "group", s.RecipientType)
	}
	require.ElementsMatch(t, members, []string{statuses[3].RecipientParticipantID, statuses[4].RecipientParticipantID})

	status, out = send("interactive", map[string]any{"type": "button", "body": map[string]any{"text": "Pick"},
		"action": map[string]any{"buttons": []any{map[string]any{"type": "reply", "reply": map[string]any{"id": "a", "title": "A"}}}}})
	require.Equal(t, http.StatusBadRequest, status, "groups take no interactive messages")
	require.Equal(t, whatsapp.CodeInvalidParameter, errorCode(t, out))
}

func TestDeleteGroup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	created := b.createGroup(t, "")

	status, _ := b.call(t, http.MethodDelete, "/v23.0/"+created.GroupID, testToken, nil)

	require.Equal(t, http.StatusOK, status)
	deleted := b.groupEvents(t, "group_lifecycle_update", "group_delete", 1)
	require.Equal(t, created.GroupID, deleted[0].GroupID)
	_, err := b.sim.Group(created.GroupID)
	require.ErrorIs(t, err, sim.ErrUnknownGroup)
	require.Empty(t, b.sim.Groups(testNumber))
}

// TestGroupSettingsLeavesAndSuspensions: the rest of the documented
// webhooks: a settings change (group_settings_update, a bad subject refused
// in it), a withdrawn join request, a participant leaving, a suspension and
// its end (group_status_update); adding by number is refused on the Cloud
// API.
func TestGroupSettingsLeavesAndSuspensions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	created := b.createGroup(t, "approval_required")

	status, out := b.call(t, http.MethodPost, "/v23.0/"+created.GroupID, testToken,
		map[string]any{"messaging_product": "whatsapp", "subject": "Purchases 2026", "description": "Updated"})
	require.Equal(t, http.StatusOK, status, out)
	g, err := b.sim.Group(created.GroupID)
	require.NoError(t, err)
	require.Equal(t, "Purchases 2026", g.Subject)
	status, _ = b.call(t, http.MethodPost, "/v23.0/"+created.GroupID, testToken, map[string]any{"messaging_product": "whatsapp", "subject": "  "})
	require.Equal(t, http.StatusOK, status, "the outcome comes by webhook")
	var settings []map[string]any
	require.Eventually(t, func() bool {
		settings = settings[:0]
		for _, c := range b.hooks.snapshot() {
			var v struct {
				Groups []map[string]any `json:"groups"`
			}
			if c.Field == "group_settings_update" && json.Unmarshal(c.Raw, &v) == nil {
				settings = append(settings, v.Groups...)
			}
		}
		return len(settings) == 2
	}, waitFor, time.Millisecond)
	oks := map[bool]int{}
	for _, s := range settings {
		oks[s["group_subject"].(map[string]any)["update_successful"].(bool)]++
	}
	require.Equal(t, map[bool]int{true: 1, false: 1}, oks)

	status, out = b.call(t, http.MethodPost, "/v23.0/"+created.GroupID+"/participants", testToken,
		map[string]any{"messaging_product": "whatsapp", "participants": []map[string]string{{"user": "34600000009"}}})
	require.Equal(t, http.StatusBadRequest, status, "the Groups API adds nobody by number")
	require.Equal(t, whatsapp.CodeInvalidParameter, errorCode(t, out))

	_, err = b.sim.JoinGroup(created.InviteLink, "34600000001", "")
	require.NoError(t, err)
	require.NoError(t, b.sim.CancelJoinRequest(created.GroupID, "34600000001"))
	b.groupEvents(t, "group_participants_update", "group_join_request_revoked", 1)

	require.NoError(t, b.sim.SetAdminsOnly(created.GroupID, false))
	id, err := b.sim.JoinGroup(created.InviteLink, "34600000002", "")
	require.NoError(t, err)
	status, out = b.call(t, http.MethodPost, "/v23.0/"+created.GroupID+"/join_requests", testToken,
		map[string]any{"messaging_product": "whatsapp", "join_requests": []string{id}})
	require.Equal(t, http.StatusOK, status, out)
	require.NoError(t, b.sim.LeaveGroup(created.GroupID, "34600000002"))
	left := b.groupEvents(t, "group_participants_update", "group_participants_remove", 1)
	require.Equal(t, "34600000002", left[0].Removed[0].WAID)

	require.NoError(t, b.sim.SuspendGroup(created.GroupID, true))
	require.NoError(t, b.sim.SuspendGroup(created.GroupID, false))
	b.groupEvents(t, "group_status_update", "group_suspend", 1)
	b.groupEvents(t, "group_status_update", "group_suspend_cleared", 1)
}
