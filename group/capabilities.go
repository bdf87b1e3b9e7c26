package group

import (
	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/number"
)

// Capabilities say what a number's transport can do with groups. The
// platform asks them before it stores anything: what the transport cannot
// do is refused with apperr.UnsupportedByProvider and the reason.
type Capabilities struct {
	Transport          number.GroupMode
	MaxParticipants    int // participants besides the business
	CanAddMembers      bool
	CanRemoveMembers   bool
	CanPromoteAdmins   bool
	CanDeleteMessages  bool
	CanEditMessages    bool
	CanSendInteractive bool
	CanMarkRead        bool
	CanSetAdminsOnly   bool // a provider-side "only admins send" setting
	JoinByInviteLink   bool
	JoinApproval       bool
	Limitations        []string
}

// CloudMaxParticipants is the Groups API's cap on a group's participants.
const CloudMaxParticipants = 8

// AppMaxParticipants is the phone app's cap on a group's members.
const AppMaxParticipants = 1024

// The reasons given when the Cloud API's Groups API cannot do something;
// Meta's Groups API documentation says each of them.
const (
	reasonCloudAdd       = "the Cloud API's Groups API cannot add members by number: they join through the group's invite link"
	reasonCloudFull      = "the Cloud API's Groups API caps a group at 8 participants"
	reasonCloudPromote   = "the Cloud API's Groups API cannot promote or demote participants"
	reasonCloudDelete    = "the Cloud API cannot delete messages in a group: they stay with the members"
	reasonCloudEdit      = "the Cloud API cannot edit messages in a group"
	reasonCloudInteract  = "the Cloud API sends text, media and templates to groups, no interactive messages"
	reasonCloudMarkRead  = "the Cloud API cannot mark group messages as read"
	reasonCloudAdminOnly = "the Cloud API has no admins-only setting: the platform enforces posting rules for its agents"
)

// cloudAPI is Meta's Groups API (2025–2026): small, invite-based groups.
var cloudAPI = Capabilities{
	Transport: number.GroupModeCLOUD_API, MaxParticipants: CloudMaxParticipants,
	CanRemoveMembers: true, JoinByInviteLink: true, JoinApproval: true,
	Limitations: []string{reasonCloudFull, reasonCloudAdd, reasonCloudPromote, reasonCloudDelete, reasonCloudEdit,
		reasonCloudInteract, reasonCloudMarkRead, reasonCloudAdminOnly,
		"groups are for Official Business Accounts only, and not available on coexistence numbers"},
}

// phoneApp is the simulator configured like the phone app: large groups,
// members added by number, admins promoted.
var phoneApp = Capabilities{
	Transport: number.GroupModeAPP, MaxParticipants: AppMaxParticipants,
	CanAddMembers: true, CanRemoveMembers: true, CanPromoteAdmins: true,
	CanSendInteractive: true, CanSetAdminsOnly: true, JoinByInviteLink: true, JoinApproval: true,
	Limitations: []string{"a simulator mode for demos and tests: no real provider behaves like this through an official API",
		"the simulator does not delete messages for everyone: hiding a message is the platform's record only"},
}

// CapabilitiesOf is what n's transport can do with groups.
func CapabilitiesOf(n *ent.Number) Capabilities {
	if n.GroupMode == number.GroupModeAPP && n.Provider == number.ProviderSim {
		return phoneApp
	}
	return cloudAPI
}

// Unsupported is the error for what a transport cannot do.
func Unsupported(reason string) error {
	return apperr.New(apperr.UnsupportedByProvider, "%s", reason)
}

// require refuses what c cannot do: ok false answers reason.
func require(ok bool, reason string) error {
	if ok {
		return nil
	}
	return Unsupported(reason)
}
