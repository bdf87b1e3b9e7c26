// Package schematype holds the Go types stored in JSON columns of the data
// model. They are shared by ent (storage) and gqlgen (API) so both speak the
// same shape.
package schematype

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// TenantSettings are a tenant's adjustable limits and hours.
type TenantSettings struct {
	// BusinessHours lists the opening hours per weekday in the tenant's timezone.
	BusinessHours []BusinessHours `json:"businessHours,omitempty"`
	// Holidays lists dates ("2026-12-25") on which the business stays closed.
	Holidays []string `json:"holidays,omitempty"`
	// Redistributions are the periodic redistributions of open conversations.
	Redistributions []RedistributionSchedule `json:"redistributions,omitempty"`
	// RetentionDays is how long messages are kept; 0 keeps them forever.
	RetentionDays int `json:"retentionDays,omitempty"`
	// FirstResponseTarget is the service-level target for the first reply to
	// a new conversation, in seconds; 0 means DefaultFirstResponseTarget.
	FirstResponseTarget int `json:"firstResponseTargetSeconds,omitempty"`
	// AdminCapPerGroup is the most admins a group may have; 0 means
	// DefaultGroupAdminCap.
	AdminCapPerGroup int `json:"groupAdminCap,omitempty"`
	// MarketingCap is at most how many marketing messages a contact receives
	// per rolling MarketingCapDays, across every broadcast and number; 0: no cap.
	MarketingCap     int `json:"marketingCap,omitempty"`
	MarketingCapDays int `json:"marketingCapDays,omitempty"`
	// MessagingLimit is the business portfolio's messaging limit: unique
	// customers reached by templates per rolling 24 hours, shared by all its
	// numbers (250, 2,000, 10,000, 100,000); 0: unlimited.
	MessagingLimit int `json:"messagingLimit,omitempty"`
}

// BroadcastAudience is who a broadcast goes to: contacts whose tags match (all of
// TagsAll, any of TagsAny when set, none of TagsNone), or a saved segment,
// optionally only those who talked to chosen numbers.
type BroadcastAudience struct {
	TagsAll   []string `json:"tagsAll,omitempty"`
	TagsAny   []string `json:"tagsAny,omitempty"`
	TagsNone  []string `json:"tagsNone,omitempty"`
	SegmentID string   `json:"segmentId,omitempty"`
	NumberIDs []string `json:"numberIds,omitempty"`
}

// DefaultGroupAdminCap is the admin cap of a tenant that set none.
const DefaultGroupAdminCap = 32

// GroupAdminCap is the admin cap in force.
func (s TenantSettings) GroupAdminCap() int {
	if s.AdminCapPerGroup > 0 {
		return s.AdminCapPerGroup
	}
	return DefaultGroupAdminCap
}

// DefaultFirstResponseTarget is the first-response target of a tenant that
// set none: five minutes, a common target for live chat.
const DefaultFirstResponseTarget = 300

// FirstResponseTargetSeconds is the first-response target in force.
func (s TenantSettings) FirstResponseTargetSeconds() int {
	if s.FirstResponseTarget > 0 {
		return s.FirstResponseTarget
	}
	return DefaultFirstResponseTarget
}

// BusinessHours is one opening window: Weekday 0 is Sunday, times are "HH:MM".
type BusinessHours struct {
	Weekday int    `json:"weekday"`
	Open    string `json:"open"`
	Close   string `json:"close"`
}

// AttributeType is the type of a contact's custom attribute value.
type AttributeType string

// Attribute types.
const (
	AttributeString AttributeType = "STRING"
	AttributeNumber AttributeType = "NUMBER"
	AttributeBool   AttributeType = "BOOL"
	AttributeTime   AttributeType = "TIME"
)

// ContactAttribute is one typed custom attribute of a contact, such as
// last_purchase_at (TIME). Value holds the canonical text form of the value.
type ContactAttribute struct {
	Key   string        `json:"key"`
	Type  AttributeType `json:"type"`
	Value string        `json:"value"`
}

// MediaRef points at the media of a message: a provider media id, a link, or both.
type MediaRef struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	MimeType string `json:"mimeType,omitempty"`
	Filename string `json:"filename,omitempty"`
	Caption  string `json:"caption,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
}

// Audience says who in a group may do something: everyone or admins only.
type Audience string

// Audiences.
const (
	AudienceAll    Audience = "ALL"
	AudienceAdmins Audience = "ADMINS"
)

// Values lists the audiences, for ent's enum column.
func (Audience) Values() []string {
	return []string{string(AudienceAll), string(AudienceAdmins)}
}

// MarshalGQL writes the audience as a GraphQL enum value.
func (a Audience) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(a))) }

// UnmarshalGQL reads an audience from a GraphQL enum value.
func (a *Audience) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok || (s != string(AudienceAll) && s != string(AudienceAdmins)) {
		return fmt.Errorf("%v is not a valid GroupAudience", v)
	}
	*a = Audience(s)
	return nil
}

// GroupPostingSettings are the settings of a group a schedule changes for
// its window; what it kept to restore at the end.
type GroupPostingSettings struct {
	SendMessages             Audience `json:"sendMessages"`
	MembersReplyToAdminsOnly bool     `json:"membersReplyToAdminsOnly"`
	EditInfo                 Audience `json:"editInfo"`
}

// RoutingStrategy is one step of a routing policy's fallback chain.
type RoutingStrategy string

// Routing strategies.
const (
	// StrategySticky gives the conversation to the contact's last agent.
	StrategySticky RoutingStrategy = "STICKY"
	// StrategyRoundRobin gives it to the candidate who was assigned longest ago.
	StrategyRoundRobin RoutingStrategy = "ROUND_ROBIN"
	// StrategyLeastLoaded gives it to the candidate with the fewest open conversations.
	StrategyLeastLoaded RoutingStrategy = "LEAST_LOADED"
)

// Values lists the strategies.
func (RoutingStrategy) Values() []string {
	return []string{string(StrategySticky), string(StrategyRoundRobin), string(StrategyLeastLoaded)}
}

// MarshalGQL writes the strategy as a GraphQL enum value.
func (s RoutingStrategy) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(s))) }

// UnmarshalGQL reads a strategy from a GraphQL enum value.
func (s *RoutingStrategy) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	if !ok || !slices.Contains(RoutingStrategy("").Values(), str) {
		return fmt.Errorf("%v is not a valid RoutingStrategy", v)
	}
	*s = RoutingStrategy(str)
	return nil
}

// RoutingPolicy says how a number's new conversations find an agent. The zero
// value is manual routing: nothing is assigned automatically.
type RoutingPolicy struct {
	// Strategies are tried in order (the fallback chain); empty means manual.
	Strategies []RoutingStrategy `json:"strategies,omitempty"`
	// TeamID routes among the team's agents; empty: the number's members, or
	// every agent of the tenant when the number has none.
	TeamID *string `json:"teamId,omitempty"`
	// IncludeOffline lets agents who are not ONLINE take conversations
	// (online-only is the default).
	IncludeOffline bool `json:"includeOffline,omitempty"`
	// IgnoreCapacity lets agents take more than their maxConcurrent
	// (capacity-aware is the default).
	IgnoreCapacity bool `json:"ignoreCapacity,omitempty"`
	// StickyWindowMinutes bounds STICKY: the contact's last agent is chosen
	// only if they were given a conversation of this contact within the
	// window; 0 means no bound.
	StickyWindowMinutes int `json:"stickyWindowMinutes,omitempty"`
}

// Manual reports whether the policy assigns nothing by itself.
func (p RoutingPolicy) Manual() bool { return len(p.Strategies) == 0 }

// Hours are opening hours: weekly windows and the dates closed anyway, in the
// time zone of whoever owns them (the tenant).
type Hours struct {
	Weekly []BusinessHours `json:"weekly,omitempty"`
	// Closed lists dates ("2026-12-25") on which nothing opens.
	Closed []string `json:"closed,omitempty"`
}

// RoutingMove is one conversation a redistribution moved.
type RoutingMove struct {
	ConversationID string  `json:"conversationId"`
	FromAgentID    *string `json:"fromAgentId,omitempty"`
	ToAgentID      string  `json:"toAgentId"`
}

// RedistributionSchedule is a tenant's periodic redistribution: on the given
// weekdays at At (tenant time), spread every open conversation that is
// unassigned or held by an offline agent over the agents online.
type RedistributionSchedule struct {
	Name     string `json:"name"`
	Weekdays []int  `json:"weekdays"` // 0 is Sunday
	At       string `json:"at"`       // "HH:MM"
}

// RuleCondition is one test an automation rule makes of the conversation
// and the event. Field names what is tested; Values are compared with it.
//
//	NUMBER, TEAM, PRIORITY, ASSIGNEE_PRESENCE: IN / NOT_IN Values
//	CONTACT_TAG: IN (has one of) / NOT_IN (has none of) Values
//	CONTACT_ATTRIBUTE: IN / NOT_IN Values of the attribute Key
//	BUSINESS_HOURS: IN ["OPEN"] or ["CLOSED"]
//	MESSAGE_TEXT: CONTAINS (any of Values, case-insensitive) / MATCHES (the regexp Values[0])
type RuleCondition struct {
	Field  string   `json:"field"`
	Op     string   `json:"op"`
	Key    string   `json:"key,omitempty"`
	Values []string `json:"values,omitempty"`
}

// RuleAction is one thing an automation rule does. Type says what; the
// other fields are its arguments.
//
//	ASSIGN_POLICY; ASSIGN_AGENT AgentID; ASSIGN_TEAM TeamID;
//	TRANSFER_ONLINE (to another agent online with room, by the number's policy);
//	SEND_TEXT Text; TAG Tag; UNTAG Tag; SET_PRIORITY Priority; SET_STATUS Status;
//	SNOOZE Minutes; NOTE Text; ALERT Text
type RuleAction struct {
	Type     string `json:"type"`
	AgentID  string `json:"agentId,omitempty"`
	TeamID   string `json:"teamId,omitempty"`
	Text     string `json:"text,omitempty"`
	Tag      string `json:"tag,omitempty"`
	Priority string `json:"priority,omitempty"`
	Status   string `json:"status,omitempty"`
	Minutes  int    `json:"minutes,omitempty"`
}

// ExportFilter chooses the conversations of an export. Empty lists mean
// "all"; From and To bound the conversation's creation, From included, To
// excluded.
type ExportFilter struct {
	NumberIDs []string   `json:"numberIds,omitempty"`
	AgentIDs  []string   `json:"agentIds,omitempty"`
	Statuses  []string   `json:"statuses,omitempty"`
	From      *time.Time `json:"from,omitempty"`
	To        *time.Time `json:"to,omitempty"`
}
