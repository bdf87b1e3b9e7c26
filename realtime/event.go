package realtime

import "encoding/json"

// The event types: the one list of what the bus carries. Data holds a
// Change; Subject is the id the event is about. Events are built by the
// constructors below, each once, and read back with Event.Change.
const (
	// ConversationChanged: a conversation was created or changed. Data:
	// {"kind": one of the ConversationKind values}.
	ConversationChanged = "conversation.changed"
	// MessageChanged: a message was added, changed status or was deleted.
	// Subject is the message; Data: {"kind": …, "conversationID": "cnv_…"}.
	MessageChanged = "message.changed"
	// NumberStatusChanged: a number's status, quality or tier changed.
	NumberStatusChanged = "number.status"
	// AgentPresenceChanged: an agent went online, away or offline.
	AgentPresenceChanged = "agent.presence"
	// AgentChanged: an agent's capacity, teams or numbers changed (routing
	// drains its queue). Subject is the agent.
	AgentChanged = "agent.changed"
	// GroupChanged: a group's settings or members changed. Data: {"kind": …}.
	GroupChanged = "group.changed"
	// PolicyChanged: a tenant's roles, rules or assignments changed: every
	// instance reloads the tenant's policy and re-admits its connections.
	PolicyChanged = "policy.changed"
	// AgentRevoked: an agent was disabled or lost their tokens: every instance
	// closes their connections. Subject is the agent.
	AgentRevoked = "agent.revoked"
	// SessionRevoked: a session ended (sign-out, a reused refresh token):
	// every instance closes the connections opened with it. Subject is the session.
	SessionRevoked = "session.revoked"
	// APIKeyRevoked: an API key was revoked: every instance closes the
	// connections opened with it. Subject is the key.
	APIKeyRevoked = "apikey.revoked"
	// ContactChanged: a contact was created (kind CREATED) or its profile,
	// tags or attributes changed (UPDATED). Subject is the contact.
	ContactChanged = "contact.changed"
	// AutomationRulesChanged: a tenant's automation rules changed: every
	// instance drops the rules it keeps in memory for the tenant.
	AutomationRulesChanged = "automation.rules"
	// WebhookEndpointChanged: an outbound webhook endpoint changed on its
	// own (disabled after sustained failure). Subject is the endpoint; Data:
	// {"kind": …, "reason": …}.
	WebhookEndpointChanged = "webhook.endpoint"
	// BroadcastChanged: a broadcast moved on (planned, a batch sent, paused,
	// finished). Subject is the broadcast.
	BroadcastChanged = "broadcast.changed"
)

// Revokes reports whether e takes access away or changes it (a policy
// change, a revoked agent, session or key, an agent's numbers): live
// deliveries after it must wait until it is applied.
func Revokes(e Event) bool {
	switch e.Type {
	case PolicyChanged, AgentRevoked, SessionRevoked, APIKeyRevoked, AgentChanged:
		return true
	}
	return false
}

// Kinds of conversation and message events (Data.kind).
const (
	KindCreated       = "CREATED"
	KindMessageAdded  = "MESSAGE_ADDED"
	KindAssigned      = "ASSIGNED"
	KindTransferred   = "TRANSFERRED"
	KindStatusChanged = "STATUS_CHANGED"
	KindRead          = "READ"
	KindAdded         = "ADDED"
	KindDeleted       = "DELETED"
	// KindQueued: nobody could take the conversation; it waits in the routing queue.
	KindQueued  = "QUEUED"
	KindUpdated = "UPDATED"
	// KindDisabled: switched off (an outbound webhook endpoint).
	KindDisabled = "DISABLED"
	// KindJoinRequested and KindJoinDecided: a customer asked to join a
	// group; a join request was approved, rejected or withdrawn.
	KindJoinRequested = "JOIN_REQUESTED"
	KindJoinDecided   = "JOIN_DECIDED"
)

// Change is the Data of every event: the kind of change and the few ids a
// subscriber filters on before it loads the row as it is now. Its JSON is
// what the bus carries (and replays), so a field is only ever added.
type Change struct {
	Kind string `json:"kind"`
	// ConversationID: the conversation of a MessageChanged event.
	ConversationID string `json:"conversationID,omitempty"`
	// AgentID, Cause and Reason: who routing chose, why it ran
	// (assignment.Cause) and how it chose, on its ConversationChanged
	// events. Reason also says why a webhook endpoint was disabled.
	AgentID string `json:"agentID,omitempty"`
	Cause   string `json:"cause,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// NumberID and AssigneeID: a ConversationChanged event's audience, the
	// conversation's number and assignee ("" for none) as the transaction
	// that published it left them. The Publisher fills them in before the
	// commit; an event without NumberID (published elsewhere, or replayed
	// from before they existed) has an unknown audience.
	NumberID   string `json:"numberID,omitempty"`
	AssigneeID string `json:"assigneeID,omitempty"`
	// JoinRequestID: the join request of a GroupChanged event of kind
	// KindJoinRequested or KindJoinDecided.
	JoinRequestID string `json:"joinRequestID,omitempty"`
	// Finished: a BroadcastChanged event whose change ended the broadcast
	// (DONE or CANCELLED). Offboarded: an AgentChanged event of the agent's
	// offboarding. Outbound webhooks tell these apart (broadcast.finished,
	// agent.offboarded); live subscribers see an UPDATED change.
	Finished   bool `json:"finished,omitempty"`
	Offboarded bool `json:"offboarded,omitempty"`
}

// Change reads the Change an event carries (the zero Change when it carries
// none).
func (e Event) Change() Change {
	var c Change
	_ = json.Unmarshal(e.Data, &c)
	return c
}

// WithChange returns e carrying c as its Data.
func (e Event) WithChange(c Change) Event {
	e.Data, _ = json.Marshal(c) // a struct of strings always marshals
	return e
}

func event(tenantID, typ, subject string, c Change) Event {
	b, _ := json.Marshal(c) // a struct of strings always marshals
	return Event{TenantID: tenantID, Type: typ, Subject: subject, Data: b}
}

// ConversationEvent tells tenantID's viewers that conversation id changed
// in the way kind names.
func ConversationEvent(tenantID, id, kind string) Event {
	return event(tenantID, ConversationChanged, id, Change{Kind: kind})
}

// RoutedEvent tells tenantID's viewers that routing assigned conversation
// id to agentID (or queued it: kind KindQueued), for cause, with the reason
// it gives.
func RoutedEvent(tenantID, id, kind, agentID, cause, reason string) Event {
	return event(tenantID, ConversationChanged, id, Change{Kind: kind, AgentID: agentID, Cause: cause, Reason: reason})
}

// MessageEvent tells tenantID's viewers that message id of conversationID
// changed in the way kind names.
func MessageEvent(tenantID, id, conversationID, kind string) Event {
	return event(tenantID, MessageChanged, id, Change{Kind: kind, ConversationID: conversationID})
}

// NumberEvent tells tenantID that number id's status, quality, tier or
// attention changed.
func NumberEvent(tenantID, id string) Event {
	return event(tenantID, NumberStatusChanged, id, Change{Kind: KindUpdated})
}

// AgentPresenceEvent tells tenantID that agentID went online, away or
// offline.
func AgentPresenceEvent(tenantID, agentID string) Event {
	return event(tenantID, AgentPresenceChanged, agentID, Change{Kind: KindUpdated})
}

// AgentEvent tells tenantID that agentID's capacity, teams or numbers
// changed.
func AgentEvent(tenantID, agentID string) Event {
	return event(tenantID, AgentChanged, agentID, Change{Kind: KindUpdated})
}

// WebhookDisabledEvent tells tenantID that outbound webhook endpoint id was
// switched off, and why.
func WebhookDisabledEvent(tenantID, id, reason string) Event {
	return event(tenantID, WebhookEndpointChanged, id, Change{Kind: KindDisabled, Reason: reason})
}

// ContactEvent tells tenantID that contact id was created or changed, as
// kind says.
func ContactEvent(tenantID, id, kind string) Event {
	return event(tenantID, ContactChanged, id, Change{Kind: kind})
}

// BroadcastFinishedEvent tells tenantID that broadcast id ended: DONE or
// CANCELLED.
func BroadcastFinishedEvent(tenantID, id string) Event {
	return event(tenantID, BroadcastChanged, id, Change{Kind: KindUpdated, Finished: true})
}

// AgentOffboardedEvent tells tenantID that agentID was offboarded: like
// AgentEvent, their teams and conversations changed.
func AgentOffboardedEvent(tenantID, agentID string) Event {
	return event(tenantID, AgentChanged, agentID, Change{Kind: KindUpdated, Offboarded: true})
}

// BroadcastEvent tells tenantID that broadcast id moved on.
func BroadcastEvent(tenantID, id string) Event {
	return event(tenantID, BroadcastChanged, id, Change{Kind: KindUpdated})
}

// GroupEvent tells tenantID's viewers that group id changed in the way kind
// names.
func GroupEvent(tenantID, id, kind string) Event {
	return event(tenantID, GroupChanged, id, Change{Kind: kind})
}

// GroupJoinEvent tells tenantID's viewers that join request requestID of
// group id came (KindJoinRequested) or was decided (KindJoinDecided).
func GroupJoinEvent(tenantID, id, requestID, kind string) Event {
	return event(tenantID, GroupChanged, id, Change{Kind: kind, JoinRequestID: requestID})
}

// AutomationRulesChangedEvent tells every instance that tenantID's
// automation rules changed.
func AutomationRulesChangedEvent(tenantID string) Event {
	return event(tenantID, AutomationRulesChanged, tenantID, Change{Kind: KindUpdated})
}

// PolicyChangedEvent tells every instance that tenantID's policy changed.
func PolicyChangedEvent(tenantID string) Event {
	return event(tenantID, PolicyChanged, tenantID, Change{Kind: KindUpdated})
}

// AgentRevokedEvent tells every instance to close agentID's connections.
func AgentRevokedEvent(tenantID, agentID string) Event {
	return event(tenantID, AgentRevoked, agentID, Change{Kind: KindUpdated})
}

// APIKeyRevokedEvent tells every instance to close keyID's connections.
func APIKeyRevokedEvent(tenantID, keyID string) Event {
	return event(tenantID, APIKeyRevoked, keyID, Change{Kind: KindUpdated})
}

// SessionRevokedEvent tells every instance to close sessionID's connections.
func SessionRevokedEvent(tenantID, sessionID string) Event {
	return event(tenantID, SessionRevoked, sessionID, Change{Kind: KindUpdated})
}
