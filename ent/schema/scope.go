package schema

import (
	"context"

	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/privacy"

	"github.com/switchboard-dev/switchboard/ent/intercept"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Row scopes: which conversations a viewer sees, from their switches
// (viewer.Scope, filled by policy when a request is admitted). Messages and
// contacts follow their conversations. The filters are SQL predicates, so
// lists and totalCount agree with what the viewer can see, and updates and
// deletes outside the scope find nothing.

// scopedPolicy filters queries and mutations of an entity with the predicate
// where(scope) returns; a nil predicate means "no restriction".
func scopedPolicy(where func(v *viewer.Viewer) func(*sql.Selector)) ent.Policy {
	rule := scopeRule{where: where}
	return privacy.Policy{Query: privacy.QueryPolicy{rule}, Mutation: privacy.MutationPolicy{rule}}
}

type scopeRule struct {
	where func(v *viewer.Viewer) func(*sql.Selector)
}

func (r scopeRule) EvalQuery(ctx context.Context, q ent.Query) error {
	pred := r.predicate(ctx)
	if pred == nil {
		return privacy.Skip
	}
	iq, err := intercept.NewQuery(q)
	if err != nil {
		return privacy.Denyf("scope: %v", err)
	}
	iq.WhereP(pred)
	return privacy.Skip
}

func (r scopeRule) EvalMutation(ctx context.Context, m ent.Mutation) error {
	if m.Op().Is(ent.OpCreate) {
		return privacy.Skip
	}
	if pred := r.predicate(ctx); pred != nil {
		m.(wherer).WhereP(pred)
	}
	return privacy.Skip
}

func (r scopeRule) predicate(ctx context.Context) func(*sql.Selector) {
	v := viewer.FromContext(ctx)
	if v == nil || v.Kind == viewer.KindSystem {
		return nil // the tenant rule already refused a missing viewer
	}
	return r.where(v)
}

// conversationScope restricts conversations to the viewer's scope. With col
// "id" it filters the conversations selector itself; with another column (a
// message's "conversation_id") it keeps rows whose col names a visible
// conversation.
func conversationScope(v *viewer.Viewer, col string) func(*sql.Selector) {
	s := v.Scope
	if s.AllConversations {
		return nil
	}
	visibleIn := func(conv *sql.Selector) *sql.Predicate {
		var ors []*sql.Predicate
		if s.AssignedConversations && v.AgentID != "" {
			ors = append(ors, sql.EQ(conv.C("assignee_id"), v.AgentID))
		}
		switch {
		case s.NumberConversations && s.NumbersPinned:
			if len(s.Numbers) > 0 {
				ids := make([]any, len(s.Numbers))
				for i, id := range s.Numbers {
					ids[i] = id
				}
				ors = append(ors, sql.In(conv.C("number_id"), ids...))
			}
		case s.NumberConversations && v.AgentID != "":
			members := sql.Select("number_id").From(sql.Table("number_members")).Where(sql.EQ("agent_id", v.AgentID))
			ors = append(ors, sql.In(conv.C("number_id"), members))
		}
		if len(ors) == 0 {
			return sql.False()
		}
		return sql.Or(ors...)
	}
	return func(sel *sql.Selector) {
		if col == "id" {
			sel.Where(visibleIn(sel))
			return
		}
		convs := sql.Table("conversations")
		visible := sql.Select(convs.C("id")).From(convs)
		visible.Where(visibleIn(visible))
		sel.Where(sql.In(sel.C(col), visible))
	}
}

// ConversationScope is the row scope of conversations for the viewer of ctx,
// a predicate on a selector of the conversations table, or nil when they see
// every conversation (the system viewer does). Raw subqueries over
// conversations, which the privacy rules do not reach, apply it (segments).
func ConversationScope(ctx context.Context) func(*sql.Selector) {
	v := viewer.FromContext(ctx)
	if v == nil || v.Kind == viewer.KindSystem {
		return nil
	}
	return conversationScope(v, "id")
}

func conversationRows(v *viewer.Viewer) func(*sql.Selector) { return conversationScope(v, "id") }

func messageRows(v *viewer.Viewer) func(*sql.Selector) {
	return conversationScope(v, "conversation_id")
}

// contactRows: a contact is visible with a conversation the viewer sees.
func contactRows(v *viewer.Viewer) func(*sql.Selector) {
	inner := conversationScope(v, "id")
	if inner == nil {
		return nil
	}
	return func(sel *sql.Selector) {
		convs := sql.Select("contact_id").From(sql.Table("conversations"))
		inner(convs)
		sel.Where(sql.In(sel.C("id"), convs))
	}
}

// auditRows: the audit log is for audit.view only.
func auditRows(v *viewer.Viewer) func(*sql.Selector) {
	if v.Scope.Audit {
		return nil
	}
	return func(sel *sql.Selector) { sel.Where(sql.False()) }
}
