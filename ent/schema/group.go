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

// Group is a WhatsApp group run from one of the tenant's numbers.
type Group struct {
	ent.Schema
}

// Mixin of the Group.
func (Group) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "grp"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the Group.
func (Group) Fields() []ent.Field {
	audience := func(name string, def schematype.Audience, comment string) ent.Field {
		return field.Enum(name).GoType(schematype.Audience("")).Default(string(def)).Comment(comment)
	}
	return []ent.Field{
		field.String("number_id").Immutable(),
		field.String("subject").NotEmpty().MaxLen(100).Annotations(entgql.OrderField("SUBJECT")),
		field.String("description").Optional().MaxLen(2048),
		field.String("icon_url").Optional(),
		field.String("photo_sha256").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)).
			Comment("the SHA-256 of the picture last sent to the provider (setGroupPhoto)"),
		field.String("invite_link").Optional().Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.String("provider_group_id").Optional().Nillable().Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		audience("send_messages", schematype.AudienceAll, "who may post"),
		audience("edit_info", schematype.AudienceAdmins, "who may change subject, description and icon"),
		audience("add_members", schematype.AudienceAdmins, "who may add members"),
		field.Bool("join_approval").Default(false),
		field.Bool("members_reply_to_admins_only").Default(false).
			Comment("with send_messages ADMINS: members may still reply to announcements"),
		field.Int("member_limit").Default(1024).Positive(),
		field.Enum("state").Values("CREATING", "ACTIVE", "FAILED", "DELETING", "DELETED", "SUSPENDED").Default("ACTIVE").
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)).
			Comment("CREATING until the provider's group_lifecycle_update confirms it (or FAILED says why)"),
		field.String("state_reason").Optional().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)).
			Comment("why the provider refused the last change, when it did"),
		field.String("create_request_id").Optional().Nillable().
			Annotations(entgql.Skip()).
			Comment("the provider's request id of the creation, matched with its webhook"),
	}
}

// Edges of the Group.
func (Group) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("number", Number.Type).Field("number_id").Unique().Required().Immutable(),
		edge.From("members", GroupMember.Type).Ref("group").
			Annotations(entgql.RelayConnection(), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		edge.From("join_requests", GroupJoinRequest.Type).Ref("group").
			Annotations(entgql.RelayConnection(), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		edge.To("admins", Agent.Type).
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)).
			Comment("the agents who are the group's admins in the platform (admins-only posting, approvals)"),
		edge.To("schedules", GroupSchedule.Type).
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)).
			Comment("scheduled changes of its posting settings, by start"),
	}
}

// Indexes of the Group.
func (Group) Indexes() []ent.Index {
	return []ent.Index{index.Fields("number_id", "provider_group_id").Unique()}
}

// Annotations of the Group.
func (Group) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(),
		entgql.RelayConnection(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}

// GroupMember is one participant of a group.
type GroupMember struct {
	ent.Schema
}

// Mixin of the GroupMember.
func (GroupMember) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "gmb"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the GroupMember.
func (GroupMember) Fields() []ent.Field {
	return []ent.Field{
		field.String("group_id").Immutable(),
		field.String("wa_id").NotEmpty().MaxLen(32).Immutable(),
		field.String("name").Optional().MaxLen(200),
		field.Enum("role").Values("CREATOR", "ADMIN", "MEMBER").Default("MEMBER"),
	}
}

// Edges of the GroupMember.
func (GroupMember) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("group", Group.Type).Field("group_id").Unique().Required().Immutable(),
	}
}

// Indexes of the GroupMember.
func (GroupMember) Indexes() []ent.Index {
	return []ent.Index{index.Fields("group_id", "wa_id").Unique()}
}

// Annotations of the GroupMember.
func (GroupMember) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// GroupJoinRequest is a request to join a group that needs approval.
type GroupJoinRequest struct {
	ent.Schema
}

// Mixin of the GroupJoinRequest.
func (GroupJoinRequest) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "gjr"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the GroupJoinRequest.
func (GroupJoinRequest) Fields() []ent.Field {
	return []ent.Field{
		field.String("group_id").Immutable(),
		field.String("wa_id").NotEmpty().MaxLen(32).Immutable(),
		field.String("name").Optional().MaxLen(200),
		field.Enum("status").Values("PENDING", "APPROVED", "REJECTED", "CANCELLED").Default("PENDING"),
		field.Time("decided_at").Optional().Nillable(),
		field.String("decided_by_id").Optional().Nillable(),
		field.String("provider_request_id").Optional().Immutable().Annotations(entgql.Skip()).
			Comment("the provider's join_request_id"),
		field.String("error").Optional().
			Comment("why the provider refused the last decision; the request is PENDING again"),
	}
}

// Edges of the GroupJoinRequest.
func (GroupJoinRequest) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("group", Group.Type).Field("group_id").Unique().Required().Immutable(),
		edge.To("decided_by", Agent.Type).Field("decided_by_id").Unique(),
	}
}

// Indexes of the GroupJoinRequest.
func (GroupJoinRequest) Indexes() []ent.Index {
	return []ent.Index{index.Fields("group_id", "status")}
}

// Annotations of the GroupJoinRequest.
func (GroupJoinRequest) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// GroupSchedule is a scheduled change of a group's posting settings for a
// window ("during exam week only admins post", then back): a durable job
// applies it at starts_at and restores what it changed at ends_at. The
// window was given in the tenant's time zone (timezone) and is stored as
// instants.
type GroupSchedule struct {
	ent.Schema
}

// Mixin of the GroupSchedule.
func (GroupSchedule) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "gsc"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the GroupSchedule.
func (GroupSchedule) Fields() []ent.Field {
	audience := func(name, comment string) ent.Field {
		return field.Enum(name).GoType(schematype.Audience("")).Optional().Nillable().Immutable().Comment(comment)
	}
	return []ent.Field{
		field.String("group_id").Immutable(),
		field.String("label").Optional().MaxLen(200).Immutable().Comment("why, for people: \"Exam week\""),
		field.Time("starts_at").Immutable().Annotations(entgql.OrderField("STARTS_AT")),
		field.Time("ends_at").Immutable(),
		field.String("timezone").Immutable().Comment("the tenant's time zone the window was given in"),
		audience("send_messages", "who may post during the window (nil: unchanged)"),
		field.Bool("members_reply_to_admins_only").Optional().Nillable().Immutable(),
		audience("edit_info", "who may edit the group's info during the window (nil: unchanged)"),
		field.JSON("previous", schematype.GroupPostingSettings{}).Optional().Annotations(entgql.Skip()).
			Comment("the settings the window replaced, restored at its end"),
		field.Enum("state").Values("SCHEDULED", "ACTIVE", "DONE", "CANCELLED").Default("SCHEDULED"),
		field.Time("applied_at").Optional().Nillable(),
		field.Time("ended_at").Optional().Nillable().Comment("when it was restored, cancelled or found past"),
		field.String("outcome").Optional().MaxLen(1000).Comment("what the end restored or left, for people"),
		field.String("created_by_id").Optional().Nillable().Immutable(),
		field.String("cancelled_by_id").Optional().Nillable(),
	}
}

// Edges of the GroupSchedule.
func (GroupSchedule) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("group", Group.Type).Ref("schedules").Field("group_id").Unique().Required().Immutable(),
		edge.To("created_by", Agent.Type).Field("created_by_id").Unique().Immutable(),
		edge.To("cancelled_by", Agent.Type).Field("cancelled_by_id").Unique(),
	}
}

// Indexes of the GroupSchedule.
func (GroupSchedule) Indexes() []ent.Index {
	return []ent.Index{index.Fields("group_id", "starts_at")}
}

// Annotations of the GroupSchedule.
func (GroupSchedule) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)}
}

// GroupPhoto is the picture last asked for a group, kept until the
// provider has it: the job that uploads it reads it here (a job's args are
// no place for an image). Not in the API: Group.photoSHA256 says which.
type GroupPhoto struct {
	ent.Schema
}

// Mixin of the GroupPhoto.
func (GroupPhoto) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "gph"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the GroupPhoto.
func (GroupPhoto) Fields() []ent.Field {
	return []ent.Field{
		field.String("group_id").Immutable().Unique(),
		field.Bytes("jpeg").MaxLen(5 << 20).Comment("a square JPEG of at least 192×192, at most 5 MB (Meta's Groups API)"),
		field.String("sha256"),
	}
}

// Annotations of the GroupPhoto.
func (GroupPhoto) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
