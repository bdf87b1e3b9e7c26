package realtime

// The event types: the one list of what the bus carries. Data holds the small
// delta described with each; Subject is the id the event is about.
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
	// WebhookEndpointChanged: an outbound webhook endpoint changed on its
	// own (disabled after sustained failure). Subject is the endpoint; Data:
	// {"kind": …, "reason": …}.
	WebhookEndpointChanged = "webhook.endpoint"
)

// Revokes reports whether e takes access away or changes it (a policy
// change, a revoked agent, session or key): live deliveries after it must
// wait until it is applied.
func Revokes(e Event) bool {
	switch e.Type {
	case PolicyChanged, AgentRevoked, SessionRevoked, APIKeyRevoked:
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
)

// ConversationEvent tells tenantID's viewers that conversation id changed
// in the way kind names.
func ConversationEvent(tenantID, id, kind string) Event {
	return Event{TenantID: tenantID, Type: ConversationChanged, Subject: id, Data: Kinded(kind)}
}

// MessageEvent tells tenantID's viewers that message id of conversationID
// changed in the way kind names.
func MessageEvent(tenantID, id, conversationID, kind string) Event {
	return Event{TenantID: tenantID, Type: MessageChanged, Subject: id, Data: Kinded(kind, "conversationID", conversationID)}
}

// NumberEvent tells tenantID that number id's status, quality, tier or
// attention changed.
func NumberEvent(tenantID, id string) Event {
	return Event{TenantID: tenantID, Type: NumberStatusChanged, Subject: id, Data: Kinded(KindUpdated)}
}

// PolicyChangedEvent tells every instance that tenantID's policy changed.
func PolicyChangedEvent(tenantID string) Event {
	return Event{TenantID: tenantID, Type: PolicyChanged, Subject: tenantID, Data: Kinded(KindUpdated)}
}

// AgentRevokedEvent tells every instance to close agentID's connections.
func AgentRevokedEvent(tenantID, agentID string) Event {
	return Event{TenantID: tenantID, Type: AgentRevoked, Subject: agentID, Data: Kinded(KindUpdated)}
}

// APIKeyRevokedEvent tells every instance to close keyID's connections.
func APIKeyRevokedEvent(tenantID, keyID string) Event {
	return Event{TenantID: tenantID, Type: APIKeyRevoked, Subject: keyID, Data: Kinded(KindUpdated)}
}

// SessionRevokedEvent tells every instance to close sessionID's connections.
func SessionRevokedEvent(tenantID, sessionID string) Event {
	return Event{TenantID: tenantID, Type: SessionRevoked, Subject: sessionID, Data: Kinded(KindUpdated)}
}
