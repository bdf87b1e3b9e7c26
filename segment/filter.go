package segment

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/contact"
	entcontact "github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/predicate"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
)

// Filter is a segment's definition (JSON-serialisable, stored as is).
type Filter = schematype.SegmentFilter

// AttributePredicate is one condition of a Filter on a typed attribute.
type AttributePredicate = schematype.AttributePredicate

// Attribute operators (AttributePredicate.Op).
const (
	OpEq         = "EQ"
	OpPrefix     = "PREFIX"
	OpLT         = "LT"
	OpLTE        = "LTE"
	OpGT         = "GT"
	OpGTE        = "GTE"
	OpWithinDays = "WITHIN_DAYS"
	OpBefore     = "BEFORE"
	OpAfter      = "AFTER"
	OpExists     = "EXISTS"
)

// Limits on a filter.
const (
	MaxTags       = 50
	MaxPredicates = 20
	MaxNumbers    = 100
	MaxDays       = 3650
)

// ops lists the operators each attribute type takes.
var ops = map[schematype.AttributeType][]string{
	schematype.AttributeString: {OpEq, OpPrefix, OpExists},
	schematype.AttributeNumber: {OpEq, OpLT, OpLTE, OpGT, OpGTE, OpExists},
	schematype.AttributeTime:   {OpWithinDays, OpBefore, OpAfter, OpExists},
	schematype.AttributeBool:   {OpEq, OpExists},
}

// Normalize checks f and returns it in canonical form: tags normalised like
// a contact's, values in their type's canonical text, lists sorted. Its
// errors are INVALID_INPUT naming the part at fault.
func Normalize(f Filter) (Filter, error) {
	var err error
	for _, tags := range []*[]string{&f.TagsAll, &f.TagsAny, &f.TagsNone} {
		if *tags, err = contact.NormalizeTags(*tags); err != nil {
			return Filter{}, err
		}
	}
	if len(f.TagsAll)+len(f.TagsAny)+len(f.TagsNone) > MaxTags {
		return Filter{}, apperr.Invalid("tags", "a filter names at most %d tags", MaxTags)
	}
	if len(f.Attributes) > MaxPredicates {
		return Filter{}, apperr.Invalid("attributes", "a filter has at most %d attribute conditions", MaxPredicates)
	}
	attrs := make([]AttributePredicate, len(f.Attributes))
	for i, p := range f.Attributes {
		if attrs[i], err = normalizePredicate(p); err != nil {
			return Filter{}, err
		}
	}
	f.Attributes = attrs
	if len(f.Attributes) == 0 {
		f.Attributes = nil
	}
	for i, s := range f.OptIn {
		s = strings.ToUpper(strings.TrimSpace(s))
		if entcontact.OptInValidator(entcontact.OptIn(s)) != nil {
			return Filter{}, apperr.Invalid("optIn", "unknown opt-in state %q: UNKNOWN, OPTED_IN or OPTED_OUT", f.OptIn[i])
		}
		f.OptIn[i] = s
	}
	f.OptIn = sortedSet(f.OptIn)
	f.NumberIDs = sortedSet(f.NumberIDs)
	if len(f.NumberIDs) > MaxNumbers {
		return Filter{}, apperr.Invalid("numberIDs", "a filter names at most %d numbers", MaxNumbers)
	}
	if f.InboundWithinDays < 0 || f.InboundWithinDays > MaxDays {
		return Filter{}, apperr.Invalid("inboundWithinDays", "must be 0 (no condition) to %d days", MaxDays)
	}
	return f, nil
}

func sortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func normalizePredicate(p AttributePredicate) (AttributePredicate, error) {
	p.Key = strings.TrimSpace(p.Key)
	p.Op = strings.ToUpper(strings.TrimSpace(p.Op))
	p.Type = schematype.AttributeType(strings.ToUpper(strings.TrimSpace(string(p.Type))))
	if p.Key == "" || len(p.Key) > contact.MaxAttrKeyLen {
		return p, apperr.Invalid("attributes", "attribute keys are 1 to %d characters", contact.MaxAttrKeyLen)
	}
	allowed, ok := ops[p.Type]
	if !ok {
		return p, apperr.Invalid("attributes", "attribute %q: unknown type %q (STRING, NUMBER, TIME or BOOL)", p.Key, p.Type)
	}
	if !slices.Contains(allowed, p.Op) {
		return p, apperr.Invalid("attributes", "attribute %q: a %s takes %s, not %q", p.Key, p.Type, strings.Join(allowed, ", "), p.Op)
	}
	switch p.Op {
	case OpExists:
		p.Value = ""
		return p, nil
	case OpWithinDays:
		n, err := strconv.Atoi(strings.TrimSpace(p.Value))
		if err != nil || n < 1 || n > MaxDays {
			return p, apperr.Invalid("attributes", "attribute %q: WITHIN_DAYS takes a number of days, 1 to %d", p.Key, MaxDays)
		}
		p.Value = strconv.Itoa(n)
		return p, nil
	case OpPrefix:
		if p.Value == "" {
			return p, apperr.Invalid("attributes", "attribute %q: PREFIX needs a value", p.Key)
		}
	}
	norm, err := contact.NormalizeAttributes([]schematype.ContactAttribute{{Key: p.Key, Type: p.Type, Value: p.Value}})
	if err != nil {
		return p, err
	}
	p.Value = norm[0].Value
	return p, nil
}

// Where is the predicate selecting the contacts of f in tenantID as of now
// (for the "within N days" parts): contacts neither erased nor standing for
// a group. It does not apply the viewer's row scope to contacts (ent's
// privacy rules add it to the query it is used in); conv
// (schema.ConversationScope, or nil for all) restricts the conversations it
// reads. A filter Normalize refuses is refused with the same error.
func Where(tenantID string, f Filter, now time.Time, conv func(*sql.Selector)) (predicate.Contact, error) {
	f, err := Normalize(f)
	if err != nil {
		return nil, err
	}
	return where(tenantID, f, now, conv), nil
}

func where(tenantID string, f Filter, now time.Time, conv func(*sql.Selector)) predicate.Contact {
	return func(sel *sql.Selector) {
		id := sel.C(entcontact.FieldID)
		ps := []*sql.Predicate{sql.IsNull(sel.C(entcontact.FieldErasedAt)), sql.NotIn(id, groupContacts())}
		if len(f.OptIn) > 0 {
			ps = append(ps, sql.In(sel.C(entcontact.FieldOptIn), anys(f.OptIn)...))
		}
		// Each condition is the set of contact ids it selects, the tags
		// first (usually the smallest), then the conversations, then the
		// attributes. A set "by contact" can also be asked for one contact
		// through its table's primary key (contact_id first).
		type set struct {
			ids       *sql.Selector
			byContact bool
		}
		var sets []set
		if len(f.TagsAll) > 0 {
			sets = append(sets, set{tagged(tenantID, f.TagsAll).GroupBy("contact_id").Having(sql.EQ(sql.Count("*"), len(f.TagsAll))), true})
		}
		if len(f.TagsAny) > 0 {
			sets = append(sets, set{tagged(tenantID, f.TagsAny), true})
		}
		if len(f.NumberIDs) > 0 || f.InboundWithinDays > 0 {
			// By contact through the index (number_id, contact_id) when
			// numbers are named; without them only the time index serves.
			sets = append(sets, set{conversed(tenantID, f, now, conv), len(f.NumberIDs) > 0})
		}
		for _, p := range f.Attributes {
			sets = append(sets, set{attributed(tenantID, p, now), true})
		}
		var none *sql.Selector
		if len(f.TagsNone) > 0 {
			none = tagged(tenantID, f.TagsNone)
		}
		if sel.Dialect() != dialect.SQLite {
			// Postgres plans the semi-joins itself, from its statistics.
			for _, s := range sets {
				ps = append(ps, sql.In(id, s.ids))
			}
			if none != nil {
				ps = append(ps, sql.NotIn(id, none))
			}
			sel.Where(sql.And(ps...))
			return
		}
		// SQLite materialises every IN (subquery) whole: a filter naming a
		// tag of 2,000 contacts and "orders ≥ 5" of 75,000 read all 75,000
		// (3.2 s at 100,000 contacts). So one set drives (the first that
		// cannot be asked by contact, else the first) and the others are
		// asked for each of its contacts, by primary key.
		drive := 0
		for i, s := range sets {
			if !s.byContact {
				drive = i
				break
			}
		}
		for i, s := range sets {
			switch {
			case i == drive:
				ps = append(ps, sql.In(id, s.ids))
			case s.byContact:
				ps = append(ps, sql.Exists(s.ids.Where(sql.ColumnsEQ(s.ids.C("contact_id"), id))))
			default:
				ps = append(ps, sql.In(id, s.ids))
			}
		}
		if none != nil {
			ps = append(ps, sql.NotExists(none.Where(sql.ColumnsEQ(none.C("contact_id"), id))))
		}
		sel.Where(sql.And(ps...))
	}
}

// tagged selects the contact ids holding one of tags.
func tagged(tenantID string, tags []string) *sql.Selector {
	t := sql.Table(TagsTable)
	return sql.Select(t.C("contact_id")).From(t).Where(sql.And(sql.EQ(t.C("tenant_id"), tenantID), sql.In(t.C("tag"), anys(tags)...)))
}

// attributed selects the contact ids whose attribute satisfies p. Numbers,
// times (Unix seconds) and booleans (0, 1) compare in number_value, strings
// in text_value.
func attributed(tenantID string, p AttributePredicate, now time.Time) *sql.Selector {
	t := sql.Table(AttributesTable)
	ps := []*sql.Predicate{sql.EQ(t.C("tenant_id"), tenantID), sql.EQ(t.C("name"), p.Key), sql.EQ(t.C("type"), string(p.Type))}
	num, text := t.C("number_value"), t.C("text_value")
	switch p.Op {
	case OpEq:
		if p.Type == schematype.AttributeNumber {
			ps = append(ps, sql.EQ(num, mustFloat(p.Value)))
		} else {
			ps = append(ps, sql.EQ(text, p.Value))
		}
	case OpPrefix:
		// A range, so the index serves it: every string starting with the
		// prefix sorts between it and it followed by the highest code point
		// (bytewise: SQLite's BINARY, Postgres's "C" collation of the column).
		ps = append(ps, sql.GTE(text, p.Value), sql.LT(text, p.Value+"\U0010FFFF"))
	case OpLT:
		ps = append(ps, sql.LT(num, mustFloat(p.Value)))
	case OpLTE:
		ps = append(ps, sql.LTE(num, mustFloat(p.Value)))
	case OpGT:
		ps = append(ps, sql.GT(num, mustFloat(p.Value)))
	case OpGTE:
		ps = append(ps, sql.GTE(num, mustFloat(p.Value)))
	case OpWithinDays:
		days, _ := strconv.Atoi(p.Value)
		ps = append(ps, sql.GTE(num, float64(now.AddDate(0, 0, -days).Unix())))
	case OpBefore:
		ps = append(ps, sql.LT(num, float64(mustTime(p.Value).Unix())))
	case OpAfter:
		ps = append(ps, sql.GT(num, float64(mustTime(p.Value).Unix())))
	}
	return sql.Select(t.C("contact_id")).From(t).Where(sql.And(ps...))
}

// conversed selects the contact ids with a conversation on one of
// f.NumberIDs and/or a customer message within f.InboundWithinDays, among
// the conversations conv lets through.
func conversed(tenantID string, f Filter, now time.Time, conv func(*sql.Selector)) *sql.Selector {
	t := sql.Table("conversations")
	s := sql.Select(t.C("contact_id")).From(t).Where(sql.EQ(t.C("tenant_id"), tenantID))
	if len(f.NumberIDs) > 0 {
		s.Where(sql.In(t.C("number_id"), anys(f.NumberIDs)...))
	}
	if f.InboundWithinDays > 0 {
		s.Where(sql.GTE(t.C("last_customer_message_at"), now.AddDate(0, 0, -f.InboundWithinDays)))
	}
	if conv != nil {
		conv(s)
	}
	return s
}

// groupContacts selects the contacts standing for a WhatsApp group: no
// segment reaches a group. By group_id alone, so its index serves it (ids
// are unique across tenants; the contacts' own tenant filter does the rest).
func groupContacts() *sql.Selector {
	t := sql.Table("conversations")
	return sql.Select(t.C("contact_id")).From(t).Where(sql.NotNull(t.C("group_id")))
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func mustFloat(v string) float64 {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		panic(fmt.Sprintf("segment: %q passed Normalize but is not a number", v))
	}
	return f
}

func mustTime(v string) time.Time {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		panic(fmt.Sprintf("segment: %q passed Normalize but is not a time", v))
	}
	return t
}
