package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
)

// Number is a WhatsApp business number, the "account" agents answer on.
type Number struct {
	ent.Schema
}

// Mixin of the Number.
func (Number) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "num"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the Number.
func (Number) Fields() []ent.Field {
	return []ent.Field{
		field.String("phone").Match(e164Pattern).Annotations(entgql.OrderField("PHONE")),
		field.String("display_name").NotEmpty().MaxLen(200).Annotations(entgql.OrderField("DISPLAY_NAME")),
		field.Enum("provider").Values("cloud", "sim").Default("cloud"),
		field.Enum("group_mode").Values("CLOUD_API", "APP").Default("CLOUD_API").
			Comment("how groups behave: the Cloud API's Groups API, or (simulator only) like the phone app"),
		field.String("waba_id").Optional(),
		field.String("phone_number_id").Optional().Nillable().
			Comment("the provider's id of the number; routes webhooks to it once verified"),
		field.Time("verified_at").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)).
			Comment("when the provider showed that the number's access token reads its phone number id and phone; only a verified number receives webhooks; changing either clears it"),
		field.Bytes("credentials").Optional().Sensitive().Annotations(entgql.Skip()).
			Comment("encrypted provider credentials"),
		field.Enum("status").
			Values("CONNECTED", "CONNECTING", "DISCONNECTED", "RESTRICTED", "BANNED").
			Default("CONNECTING").
			Annotations(entgql.OrderField("STATUS"), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Enum("quality").Values("GREEN", "YELLOW", "RED", "UNKNOWN").Default("UNKNOWN").
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.String("messaging_tier").Optional().Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Int("throughput").Default(80).Positive().Comment("messages per second"),
		field.Time("last_seen_at").Optional().Nillable().Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Time("unlinked_at").Optional().Nillable().Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)).
			Comment("set when the number is unlinked; its history stays"),
		field.JSON("routing_policy", schematype.RoutingPolicy{}).Optional().Annotations(entgql.Skip()).
			Comment("how new conversations on the number find an agent (routing); empty: manual"),
		field.JSON("business_hours", &schematype.Hours{}).Optional().Annotations(entgql.Skip()).
			Comment("the number's own hours; nil: the tenant's"),
		field.Int("first_response_target_seconds").Optional().Nillable().Range(1, 7*24*3600).
			Comment("the number's first-response target (SLA), in seconds; nil: the tenant's. A first response later than it is a breach in reports"),
		field.String("attention").Optional().Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)).
			Comment("why the number needs someone's attention, e.g. TOKEN_EXPIRED; empty when fine"),
	}
}

// Edges of the Number.
func (Number) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("members", Agent.Type).Annotations(entgql.RelayConnection()),
		edge.From("conversations", Conversation.Type).Ref("number").
			Annotations(entgql.RelayConnection(), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		edge.From("groups", Group.Type).Ref("number").
			Annotations(entgql.RelayConnection(), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// Indexes of the Number.
func (Number) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "phone").Unique(),
		// One tenant per phone number id, among those that proved it: an
		// unproven claim blocks nobody (linking someone else's id first
		// would otherwise keep its owner out).
		index.Fields("phone_number_id").Unique().Annotations(entsql.IndexWhere("verified_at IS NOT NULL")),
	}
}

// Annotations of the Number.
func (Number) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(),
		entgql.RelayConnection(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}
