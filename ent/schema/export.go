package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/viewer"
)

// ConversationExport is a conversation export run as a durable job (package
// export): too large for one request, it is written to a file, its progress
// kept here, and downloaded through a signed link until it expires.
type ConversationExport struct {
	ent.Schema
}

// Mixin of the ConversationExport.
func (ConversationExport) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cxp"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the ConversationExport.
func (ConversationExport) Fields() []ent.Field {
	return []ent.Field{
		field.String("requester_id").Immutable().Comment("the agent who asked: the job runs as them, with their scope and field rules"),
		field.Enum("format").Values("JSONL", "CSV").Immutable(),
		field.JSON("filter", schematype.ExportFilter{}).Immutable().Annotations(entgql.Skip()),
		field.String("filter_text").Immutable().Comment("the filter as the audit record names it"),
		field.Enum("state").Values("QUEUED", "RUNNING", "DONE", "FAILED", "EXPIRED").Default("QUEUED"),
		field.Int("rows_total").Default(0).Comment("conversations and messages to write, counted when the job starts"),
		field.Int("rows_written").Default(0),
		field.Int64("bytes").Default(0),
		field.String("sha256").Optional().Comment("of the file, once DONE"),
		field.String("error").Optional().Comment("why it FAILED"),
		field.String("file").Optional().Annotations(entgql.Skip()).Comment("the file's name in the export directory"),
		field.Time("finished_at").Optional().Nillable(),
		field.Time("expires_at").Optional().Nillable().Comment("when the file is removed and its link refused"),
	}
}

// Indexes of the ConversationExport.
func (ConversationExport) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "requester_id", "created_at"), index.Fields("state", "expires_at")}
}

// Annotations of the ConversationExport.
func (ConversationExport) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput, entgql.SkipWhereInput)}
}

// Policy of the ConversationExport: the requester's own, or every export for
// those who may export every conversation (scope.go).
func (ConversationExport) Policy() ent.Policy { return scopedPolicy(exportRows) }

// exportRows: a viewer sees the exports they asked for; Scope.Exports sees
// the tenant's every export.
func exportRows(v *viewer.Viewer) func(*sql.Selector) {
	if v.Scope.Exports {
		return nil
	}
	if v.AgentID == "" {
		return func(sel *sql.Selector) { sel.Where(sql.False()) }
	}
	return func(sel *sql.Selector) { sel.Where(sql.EQ(sel.C("requester_id"), v.AgentID)) }
}
