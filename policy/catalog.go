package policy

// Permission is a stable feature-switch id, such as "conversation.reply".
// Consoles render role editors from the catalogue; never rename an id.
type Permission string

// Entry describes one permission for a role editor.
type Entry struct {
	ID          Permission
	Label       string
	Description string
}

// The permission catalogue: the one list of every switch.
const (
	ConversationReadAssigned Permission = "conversation.read.assigned"
	ConversationReadNumber   Permission = "conversation.read.number"
	ConversationReadAll      Permission = "conversation.read.all"
	ConversationReply        Permission = "conversation.reply"
	ConversationAssign       Permission = "conversation.assign"
	ConversationTransfer     Permission = "conversation.transfer"
	ConversationResolve      Permission = "conversation.resolve"
	ConversationDelete       Permission = "conversation.delete"
	ConversationExport       Permission = "conversation.export"
	MessageDelete            Permission = "message.delete"
	MessageViewDeleted       Permission = "message.view_deleted"
	ContactRead              Permission = "contact.read"
	ContactViewPhone         Permission = "contact.view_phone"
	ContactEdit              Permission = "contact.edit"
	ContactImport            Permission = "contact.import"
	ContactExport            Permission = "contact.export"
	ContactErase             Permission = "contact.erase"
	NumberView               Permission = "number.view"
	NumberManage             Permission = "number.manage"
	AgentView                Permission = "agent.view"
	AgentManage              Permission = "agent.manage"
	RoleManage               Permission = "role.manage"
	GroupView                Permission = "group.view"
	GroupManageSettings      Permission = "group.manage_settings"
	GroupManageMembers       Permission = "group.manage_members"
	GroupModerate            Permission = "group.moderate"
	BroadcastCreate          Permission = "broadcast.create"
	BroadcastSend            Permission = "broadcast.send"
	BroadcastViewStats       Permission = "broadcast.view_stats"
	ReportViewOwn            Permission = "report.view_own"
	ReportViewAll            Permission = "report.view_all"
	ReportExport             Permission = "report.export"
	AutomationManage         Permission = "automation.manage"
	AuditView                Permission = "audit.view"
	WebhookManage            Permission = "webhook.manage"
	APIKeyManage             Permission = "apikey.manage"
	TenantManage             Permission = "tenant.manage"
)

// Catalog lists every permission in display order.
var Catalog = []Entry{
	{ConversationReadAssigned, "See assigned conversations", "See conversations assigned to you, their messages and contacts."},
	{ConversationReadNumber, "See conversations of my numbers", "See every conversation on the numbers you are a member of."},
	{ConversationReadAll, "See all conversations", "See every conversation of the company."},
	{ConversationReply, "Reply", "Send messages into conversations you can see."},
	{ConversationAssign, "Assign", "Assign conversations to agents, or unassign them."},
	{ConversationTransfer, "Transfer", "Hand conversations over to another agent or team."},
	{ConversationResolve, "Resolve", "Change a conversation's status: resolve, snooze, reopen."},
	{ConversationDelete, "Delete conversations", "Delete whole conversations."},
	{ConversationExport, "Export conversations", "Export conversation transcripts."},
	{MessageDelete, "Delete messages", "Delete a message; the original is kept for the record."},
	{MessageViewDeleted, "See deleted messages", "Read the original text of deleted messages."},
	{ContactRead, "See contacts", "See customers' profiles."},
	{ContactViewPhone, "See phone numbers", "See customers' phone numbers unmasked."},
	{ContactEdit, "Edit contacts", "Create contacts, edit their profile, tags and attributes."},
	{ContactImport, "Import contacts", "Import contacts in bulk."},
	{ContactExport, "Export contacts", "Export the contact list."},
	{ContactErase, "Erase contacts", "Erase a customer's personal data (GDPR)."},
	{NumberView, "See numbers", "See the company's WhatsApp numbers and their health."},
	{NumberManage, "Manage numbers", "Link, change and unlink WhatsApp numbers."},
	{AgentView, "See agents", "See colleagues, their presence and load."},
	{AgentManage, "Manage agents", "Create, change and disable agents and teams; see their emails."},
	{RoleManage, "Manage roles", "Create roles, set their switches and field rules, assign them."},
	{GroupView, "See groups", "See WhatsApp groups and their members."},
	{GroupManageSettings, "Manage group settings", "Create groups, change subject, description and who may post."},
	{GroupManageMembers, "Manage group members", "Add and remove members, promote admins, answer join requests."},
	{GroupModerate, "Moderate groups", "Delete members' messages in groups."},
	{BroadcastCreate, "Create broadcasts", "Prepare broadcasts to contact segments."},
	{BroadcastSend, "Send broadcasts", "Schedule and send broadcasts."},
	{BroadcastViewStats, "See broadcast results", "See delivery, read and reply rates of broadcasts."},
	{ReportViewOwn, "See my reports", "See your own figures."},
	{ReportViewAll, "See all reports", "See every agent's and team's figures."},
	{ReportExport, "Export reports", "Export reports."},
	{AutomationManage, "Manage automation", "Set auto-replies, business hours and routing rules."},
	{AuditView, "See the audit log", "Read and verify the audit log."},
	{WebhookManage, "Manage webhooks", "Configure outbound webhooks."},
	{APIKeyManage, "Manage API keys", "Create and revoke partner API keys."},
	{TenantManage, "Manage the company", "Change company settings; the owner's switch."},
}

// Known reports whether p is in the catalogue.
func Known(p Permission) bool {
	_, ok := catalogIndex[p]
	return ok
}

var catalogIndex = func() map[Permission]int {
	m := make(map[Permission]int, len(Catalog))
	for i, e := range Catalog {
		m[e.ID] = i
	}
	return m
}()
