package policy

import "strings"

// Effect is what the field guard does with a field.
type Effect int8

// Effects, from the most to the least permissive.
const (
	Allow Effect = iota
	Mask         // the value, redacted (see Redact)
	Deny         // null, with a FORBIDDEN error naming the field
)

func (e Effect) String() string {
	return [...]string{"ALLOW", "MASK", "DENY"}[e]
}

// ParseEffect reads "ALLOW", "MASK" or "DENY".
func ParseEffect(s string) (Effect, bool) {
	switch s {
	case "ALLOW":
		return Allow, true
	case "MASK":
		return Mask, true
	case "DENY":
		return Deny, true
	}
	return Allow, false
}

// Coordinate names a GraphQL field, "Type.field", or every field of a type,
// "Type.*".
type Coordinate struct {
	Type, Field string
}

func (c Coordinate) String() string { return c.Type + "." + c.Field }

// ParseCoordinate reads "Type.field" or "Type.*".
func ParseCoordinate(s string) (Coordinate, bool) {
	t, f, ok := strings.Cut(s, ".")
	if !ok || t == "" || f == "" || strings.Contains(f, ".") {
		return Coordinate{}, false
	}
	return Coordinate{Type: t, Field: f}, true
}

// FieldRule is the default rule of a field: readers need Needs (nothing when
// empty: whoever may see the row may see the field), and get Otherwise when
// they lack it. A tenant overrides it per role with setFieldRule.
type FieldRule struct {
	Needs     Permission
	Otherwise Effect
}

var public = FieldRule{}

func needs(p Permission, otherwise Effect) FieldRule {
	return FieldRule{Needs: p, Otherwise: otherwise}
}

// FieldRules are the default field rules. Every field of a sensitive type
// (SensitiveTypes) has one, even when public, so that adding a field forces a
// decision (TestSensitiveFieldsHaveRules). A field whose rule can deny must be
// nullable in the schema.
var FieldRules = map[Coordinate]FieldRule{
	// Root lists: what a role may list at all.
	{"Query", "numbers"}:            needs(NumberView, Deny),
	{"Query", "agents"}:             needs(AgentView, Deny),
	{"Query", "teams"}:              needs(AgentView, Deny),
	{"Query", "contacts"}:           needs(ContactRead, Deny),
	{"Query", "groups"}:             needs(GroupView, Deny),
	{"Query", "auditEvents"}:        needs(AuditView, Deny),
	{"Query", "roles"}:              needs(RoleManage, Deny),
	{"Query", "routingRuns"}:        needs(AutomationManage, Deny),
	{"Query", "automationRules"}:    needs(AutomationManage, Deny),
	{"Query", "automationRuns"}:     needs(AutomationManage, Deny),
	{"Query", "webhookEndpoints"}:   needs(WebhookManage, Deny),
	{"Query", "outboundDeliveries"}: needs(WebhookManage, Deny),
	{"Query", "inboundDeliveries"}:  needs(NumberManage, Deny),
	{"Query", "groupWebhookEvents"}: needs(GroupView, Deny),
	{"Query", "messageRates"}:       needs(ReportViewAll, Deny),
	// What the company pays: figures for those who see every report.
	{"Number", "costs"}: needs(ReportViewAll, Deny),
	{"Query", "report"}: needs(ReportViewOwn, Deny), // everyone's figures need report.view_all (graph/report.go)
	// Live lists: the same switches as the lists they follow.
	{"Subscription", "numberStatusChanged"}:  needs(NumberView, Deny),
	{"Subscription", "agentPresenceChanged"}: needs(AgentView, Deny),
	{"Subscription", "dashboard"}:            needs(ReportViewOwn, Deny),
	{"Subscription", "groupEvents"}:          needs(GroupView, Deny),
	// Colleagues' figures.
	{"Dashboard", "agentLoad"}: needs(ReportViewAll, Deny),

	{"Contact", "id"}:              public,
	{"Contact", "createdAt"}:       public,
	{"Contact", "updatedAt"}:       public,
	{"Contact", "waID"}:            needs(ContactViewPhone, Mask),
	{"Contact", "phone"}:           needs(ContactViewPhone, Mask),
	{"Contact", "userID"}:          needs(ContactRead, Deny), // a BSUID reveals no phone
	{"Contact", "parentUserID"}:    needs(ContactRead, Deny),
	{"Contact", "username"}:        needs(ContactRead, Deny),
	{"Contact", "profileName"}:     needs(ContactRead, Deny),
	{"Contact", "tags"}:            needs(ContactRead, Deny),
	{"Contact", "attributes"}:      needs(ContactRead, Deny),
	{"Contact", "optIn"}:           public,
	{"Contact", "optInSource"}:     needs(ContactRead, Deny),
	{"Contact", "optInAt"}:         public,
	{"Contact", "erasedAt"}:        public,
	{"Contact", "legalHoldAt"}:     public,
	{"Contact", "legalHoldReason"}: needs(ContactRead, Deny),
	{"Contact", "conversations"}:   public,

	// Group members and join requests are customers too: their phones are masked.
	{"GroupMember", "waID"}:      needs(ContactViewPhone, Mask),
	{"GroupJoinRequest", "waID"}: needs(ContactViewPhone, Mask),

	{"Agent", "id"}:            public,
	{"Agent", "createdAt"}:     public,
	{"Agent", "updatedAt"}:     public,
	{"Agent", "name"}:          public,
	{"Agent", "email"}:         needs(AgentManage, Deny),
	{"Agent", "employeeCode"}:  public,
	{"Agent", "roles"}:         public,
	{"Agent", "presence"}:      public,
	{"Agent", "maxConcurrent"}: public,
	{"Agent", "disabledAt"}:    public,
	{"Agent", "teams"}:         public,
	{"Agent", "numbers"}:       public,
	{"Agent", "assigned"}:      public,
	{"Agent", "workingHours"}:  public, // who is on shift when: colleagues plan with it

	{"Message", "id"}:                public,
	{"Message", "createdAt"}:         public,
	{"Message", "updatedAt"}:         public,
	{"Message", "conversationID"}:    public,
	{"Message", "senderID"}:          public,
	{"Message", "replyToID"}:         public,
	{"Message", "deletedByID"}:       public,
	{"Message", "direction"}:         public,
	{"Message", "kind"}:              public,
	{"Message", "body"}:              public, // a tombstone's original needs message.view_deleted (Tombstoned)
	{"Message", "media"}:             public, // likewise
	{"Message", "providerMessageID"}: public,
	{"Message", "status"}:            public,
	{"Message", "errorCode"}:         public,
	{"Message", "errorText"}:         public,
	{"Message", "sentAt"}:            public,
	{"Message", "deliveredAt"}:       public,
	{"Message", "readAt"}:            public,
	{"Message", "deletedAt"}:         public,
	{"Message", "conversation"}:      public,
	{"Message", "sender"}:            public,
	{"Message", "replyTo"}:           public,
	{"Message", "replies"}:           public,
	{"Message", "deletedBy"}:         public,
	{"Message", "reactionToID"}:      public,
	{"Message", "reactionTo"}:        public,
	{"Message", "reactions"}:         public,
	{"Message", "content"}:           public, // hidden once deleted (Tombstoned); phones inside are masked below
	{"Message", "referral"}:          public, // likewise
	{"Message", "referredProduct"}:   public,
	{"Message", "pricing"}:           needs(ReportViewAll, Deny),
	// In a group, the member who wrote: a customer, read like one.
	{"Message", "authorID"}: public,
	{"Message", "author"}:   needs(ContactRead, Deny),

	// A contact card's numbers reveal phones like Contact.phone does.
	{"SharedContactPhone", "phone"}: needs(ContactViewPhone, Mask),
	{"SharedContactPhone", "waID"}:  needs(ContactViewPhone, Mask),
	{"SharedContactPhone", "type"}:  public,

	// Audit events are rows only audit.view sees (ent/schema/scope.go).
	{"AuditEvent", "id"}:           public,
	{"AuditEvent", "seq"}:          public,
	{"AuditEvent", "actorID"}:      public,
	{"AuditEvent", "action"}:       public,
	{"AuditEvent", "targetID"}:     public,
	{"AuditEvent", "summary"}:      public,
	{"AuditEvent", "beforeDigest"}: public,
	{"AuditEvent", "afterDigest"}:  public,
	{"AuditEvent", "at"}:           public,
	{"AuditEvent", "prevHash"}:     public,
	{"AuditEvent", "hash"}:         public,
}

// Tombstoned are the fields whose value, once their row is deleted (a
// tombstone), needs a switch whatever the field rule says: the original text
// of a deleted message is for message.view_deleted. The resolvers hide it
// (null, no error: a tombstone is the normal view of a deleted message), and
// the filter guard refuses a predicate on it that could reach deleted rows.
var Tombstoned = map[Coordinate]Permission{
	{"Message", "body"}:     MessageViewDeleted,
	{"Message", "media"}:    MessageViewDeleted,
	{"Message", "content"}:  MessageViewDeleted,
	{"Message", "referral"}: MessageViewDeleted,
}

// TombstoneHidden reports whether the viewer of d cannot read the value of
// field of typ on a deleted row.
func (d *Decisions) TombstoneHidden(typ, field string) bool {
	p, ok := Tombstoned[Coordinate{typ, field}]
	return ok && !d.perms[p]
}

// TypeSwitches are the types readable only with a switch, through every
// path: their fields, every edge and payload that leads to them (the graph
// field guard) and node(id:). Without the switch the type is denied whole,
// whatever field rules say.
var TypeSwitches = map[string]Permission{
	"Group":            GroupView,
	"GroupMember":      GroupView,
	"GroupJoinRequest": GroupView,
	// What the provider said about groups (Query.groupWebhookEvents).
	"GroupWebhookEvent":  GroupView,
	"GroupSchedule":      GroupView,
	"Role":               RoleManage,
	"APIKey":             APIKeyManage,
	"Session":            AgentManage,
	"AutomationRule":     AutomationManage,
	"AutomationRun":      AutomationManage,
	"Report":             ReportViewOwn,
	"ReportRow":          ReportViewOwn,
	"ReportDurations":    ReportViewOwn,
	"Segment":            ContactRead,
	"SegmentFilter":      ContactRead,
	"SegmentPreview":     ContactRead,
	"RoutingRun":         AutomationManage,
	"MessageTemplate":    BroadcastCreate,
	"Broadcast":          BroadcastViewStats,
	"BroadcastRecipient": BroadcastViewStats,
	"BroadcastStats":     BroadcastViewStats,
	"BroadcastPolicy":    BroadcastViewStats,
	// Export jobs, their progress and download links (package export).
	"ConversationExport": ConversationExport,
}

// PhoneFields are the fields holding a customer's phone number or WhatsApp
// id: each needs contact.view_phone and is masked without it (FieldRules),
// and masks as a phone (Redact).
var PhoneFields = []Coordinate{
	{"Contact", "phone"}, {"Contact", "waID"},
	{"GroupMember", "waID"}, {"GroupJoinRequest", "waID"},
	{"SharedContactPhone", "phone"}, {"SharedContactPhone", "waID"},
}

// SensitiveTypes must have a rule for every field.
var SensitiveTypes = []string{"Contact", "Agent", "Message", "AuditEvent", "SharedContactPhone"}

// defaultEffect is the effect of the default rules for a holder of perms.
func defaultEffect(c Coordinate, perms map[Permission]bool) (Effect, bool) {
	rule, ok := FieldRules[c]
	if !ok {
		return Allow, false
	}
	if rule.Needs == "" || perms[rule.Needs] {
		return Allow, true
	}
	return rule.Otherwise, true
}

// FieldRuleLines are the Casbin rules that give role eff on c: ALLOW grants
// read, MASK grants the masked read only, DENY denies read (and a deny wins
// over any other role's allow).
func FieldRuleLines(role string, c Coordinate, eff Effect) []Rule {
	switch eff {
	case Allow:
		return []Rule{{role, c.String(), actRead, "allow"}}
	case Mask:
		return []Rule{{role, c.String(), actMask, "allow"}}
	default:
		return []Rule{{role, c.String(), actRead, "deny"}}
	}
}

// EffectOfLine reads back the effect of one field rule line.
func EffectOfLine(action, effect string) Effect {
	switch {
	case action == actRead && effect == "allow":
		return Allow
	case action == actMask && effect == "allow":
		return Mask
	}
	return Deny
}
