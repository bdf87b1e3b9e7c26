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

// MessageTemplate is a template of a business account as the provider holds
// it (GET /{waba-id}/message_templates), refreshed on a schedule and by the
// message_template_status_update webhook.
type MessageTemplate struct {
	ent.Schema
}

// Mixin of the MessageTemplate.
func (MessageTemplate) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "tpl"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the MessageTemplate.
func (MessageTemplate) Fields() []ent.Field {
	return []ent.Field{
		field.String("waba_id").NotEmpty().Comment("the business account the template belongs to"),
		field.String("provider_id").NotEmpty().Comment("the provider's template id"),
		field.String("name").NotEmpty().MaxLen(512).Annotations(entgql.OrderField("NAME")),
		field.String("language").NotEmpty().MaxLen(20),
		field.Enum("category").Values("MARKETING", "UTILITY", "AUTHENTICATION"),
		field.String("status").Comment("APPROVED, PENDING, REJECTED, PAUSED, DISABLED… as the provider says"),
		field.String("reason").Optional().Comment("why it was rejected, paused or disabled"),
		field.String("header_format").Optional().Comment("TEXT, IMAGE, VIDEO, DOCUMENT or empty: no header"),
		field.String("body").Optional().Comment("the body text with its {{n}} variables"),
		field.Int("body_variables").Default(0).Comment("how many {{n}} the body has"),
		field.JSON("components", []map[string]any{}).Optional().Annotations(entgql.Skip()),
		field.Time("synced_at").Comment("when the provider last said this"),
	}
}

// Indexes of the MessageTemplate.
func (MessageTemplate) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "waba_id", "name", "language").Unique()}
}

// Annotations of the MessageTemplate.
func (MessageTemplate) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)}
}

// Broadcast is one message sent to an audience of contacts: planned once
// into one recipient row each, then dispatched at the provider's pace.
type Broadcast struct {
	ent.Schema
}

// Mixin of the Broadcast.
func (Broadcast) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "bc"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the Broadcast.
func (Broadcast) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).Annotations(entgql.OrderField("NAME")),
		field.Enum("state").Values("DRAFT", "SCHEDULED", "PLANNING", "SENDING", "PAUSED", "DONE", "CANCELLED").Default("DRAFT"),
		field.String("template_id").Optional().Nillable().Comment("the template sent; none: a text, only inside each contact's 24-hour window"),
		field.String("template_name").Optional(),
		field.String("template_language").Optional(),
		field.String("category").Default("SERVICE").Comment("MARKETING, UTILITY, AUTHENTICATION or SERVICE (a text): what counts against frequency caps"),
		field.String("text").Optional().MaxLen(4096),
		field.String("header_image").Optional().Comment("an image template's header link"),
		field.Strings("variables").Optional().Comment("one source per body variable: contact.name, contact.phone, attr:<key>, or text:<literal>"),
		field.JSON("audience", schematype.BroadcastAudience{}).Annotations(entgql.Skip()),
		field.Enum("sender").Values("LAST_NUMBER", "FIXED", "SPREAD").Default("LAST_NUMBER"),
		field.String("number_id").Optional().Nillable().Comment("the fixed sending number"),
		field.Time("scheduled_at").Optional().Nillable().Comment("when it starts (an instant; given in tenant time)"),
		field.String("quiet_start").Optional().Comment("HH:MM tenant time: no sending from then"),
		field.String("quiet_end").Optional().Comment("HH:MM tenant time: sending resumes"),
		field.Int("planned").Default(0).Comment("recipient rows written"),
		field.Int("skipped").Default(0).Comment("of which skipped at planning"),
		field.Time("started_at").Optional().Nillable(),
		field.Time("finished_at").Optional().Nillable(),
	}
}

// Edges of the Broadcast.
func (Broadcast) Edges() []ent.Edge {
	return []ent.Edge{edge.To("recipients", BroadcastRecipient.Type).Annotations(entgql.RelayConnection())}
}

// Indexes of the Broadcast.
func (Broadcast) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "created_at")}
}

// Annotations of the Broadcast.
func (Broadcast) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)}
}

// BroadcastRecipient is one contact of a broadcast: skipped at planning with
// a reason, or sent once. Its delivery outcome is its message's status.
type BroadcastRecipient struct {
	ent.Schema
}

// Mixin of the BroadcastRecipient.
func (BroadcastRecipient) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "bcr"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the BroadcastRecipient.
func (BroadcastRecipient) Fields() []ent.Field {
	return []ent.Field{
		field.String("broadcast_id").Immutable(),
		field.String("contact_id").Immutable(),
		field.String("number_id").Optional().Nillable().Comment("the number it is sent from"),
		field.Int("position").Immutable().Comment("dispatch order within the broadcast"),
		field.Enum("state").Values("PENDING", "SKIPPED", "SENDING", "SENT", "FAILED").Default("PENDING").
			Comment("SENDING: the attempt is recorded and the provider called; an outcome not recorded is reconciled by status webhooks, never sent again"),
		field.String("skip_reason").Optional().Comment("OPTED_OUT, CAPPED, NO_NUMBER, OUTSIDE_WINDOW, DUPLICATE, CANCELLED"),
		field.String("message_id").Optional().Nillable().Comment("the message sent, whose status is the outcome"),
		field.Time("attempted_at").Optional().Nillable(),
		field.Int("error_code").Optional().Nillable(),
		field.String("error").Optional(),
		field.Bool("marketing").Default(false).Comment("counts against the tenant's frequency cap once sent"),
	}
}

// Edges of the BroadcastRecipient.
func (BroadcastRecipient) Edges() []ent.Edge {
	return []ent.Edge{edge.From("broadcast", Broadcast.Type).Ref("recipients").Field("broadcast_id").Unique().Required().Immutable()}
}

// Indexes of the BroadcastRecipient.
func (BroadcastRecipient) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("broadcast_id", "contact_id").Unique(),
		index.Fields("broadcast_id", "number_id", "state", "position"),
		index.Fields("tenant_id", "contact_id", "marketing", "attempted_at"),
		index.Fields("message_id"),
	}
}

// Annotations of the BroadcastRecipient.
func (BroadcastRecipient) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)}
}
