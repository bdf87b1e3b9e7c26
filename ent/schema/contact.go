package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
)

// Contact is a customer, known by their WhatsApp id (their phone's wa_id)
// and/or their business-scoped user id (BSUID, user_id): ingest finds a
// contact by either and merges two contacts that turn out to be one person.
type Contact struct {
	ent.Schema
}

// Mixin of the Contact.
func (Contact) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ctc"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the Contact.
func (Contact) Fields() []ent.Field {
	return []ent.Field{
		field.String("wa_id").NotEmpty().MaxLen(64).
			Comment("the customer's WhatsApp id (their phone number without +); erased-<id> once erased").
			Annotations(entgql.Skip(entgql.SkipType, entgql.SkipMutationUpdateInput)), // guarded in the API; changed only by erasure
		field.String("user_id").Optional().Nillable().MaxLen(160).
			Comment("the customer's business-scoped user id (BSUID), when Meta sent one; unique per tenant").
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.String("parent_user_id").Optional().MaxLen(160).
			Comment("the parent BSUID, shared across the portfolios of a managed business").
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.String("username").Optional().MaxLen(100).
			Comment("the customer's WhatsApp username, when they adopted one").
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.String("phone").Optional().Annotations(entgql.OrderField("PHONE")),
		field.String("profile_name").Optional().MaxLen(200).Annotations(entgql.OrderField("PROFILE_NAME")),
		field.Strings("tags").Default([]string{}).Annotations(guardedInAPI),
		field.JSON("attributes", []schematype.ContactAttribute{}).Default([]schematype.ContactAttribute{}).
			Annotations(entgql.Skip(entgql.SkipType, entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Enum("opt_in").Values("UNKNOWN", "OPTED_IN", "OPTED_OUT").Default("UNKNOWN"),
		field.String("opt_in_source").Optional().MaxLen(200),
		field.Time("opt_in_at").Optional().Nillable(),
		field.Time("erased_at").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Time("legal_hold_at").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)).
			Comment("set while a legal hold applies: no erasure, no retention purge"),
		field.String("legal_hold_reason").Optional().MaxLen(500).
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// Edges of the Contact.
func (Contact) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("conversations", Conversation.Type).Ref("contact").
			Annotations(entgql.RelayConnection(), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// Indexes of the Contact.
func (Contact) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "wa_id").Unique(),
		index.Fields("tenant_id", "user_id").Unique(),
	}
}

// Annotations of the Contact.
func (Contact) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(),
		entgql.RelayConnection(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}

// Policy of the Contact: its row scope (scope.go).
func (Contact) Policy() ent.Policy {
	return scopedPolicy(contactRows)
}
