package schematype

// SegmentFilter chooses contacts: every part given must hold (AND); an empty
// filter is every contact. It is stored with a segment and given to
// segmentPreview as is; package segment checks and applies it.
type SegmentFilter struct {
	// TagsAll: the contact has every one of these tags.
	TagsAll []string `json:"tagsAll,omitempty"`
	// TagsAny: the contact has at least one of these tags.
	TagsAny []string `json:"tagsAny,omitempty"`
	// TagsNone: the contact has none of these tags.
	TagsNone []string `json:"tagsNone,omitempty"`
	// Attributes: every predicate holds on the contact's typed attributes.
	Attributes []AttributePredicate `json:"attributes,omitempty"`
	// OptIn: the contact's opt-in state is one of these (UNKNOWN, OPTED_IN,
	// OPTED_OUT).
	OptIn []string `json:"optIn,omitempty"`
	// NumberIDs: the contact has a conversation with one of these numbers.
	NumberIDs []string `json:"numberIDs,omitempty"`
	// InboundWithinDays: the contact wrote within the last N days (to one of
	// NumberIDs when given); 0 means no condition.
	InboundWithinDays int `json:"inboundWithinDays,omitempty"`
}

// AttributePredicate is one condition on a typed attribute: the contact has
// the attribute Key with type Type and its value satisfies Op against Value.
//
//	STRING: EQ, PREFIX (case-sensitive)
//	NUMBER: EQ, LT, LTE, GT, GTE
//	TIME:   WITHIN_DAYS (Value is N: within the last N days), BEFORE, AFTER (Value is RFC 3339)
//	BOOL:   EQ
//	any:    EXISTS (Value empty)
type AttributePredicate struct {
	Key   string        `json:"key"`
	Type  AttributeType `json:"type"`
	Op    string        `json:"op"`
	Value string        `json:"value,omitempty"`
}
