// Package model holds the GraphQL-only types: those gqlgen generates
// (models_gen.go) and the few written by hand here.
package model

// Viewer is who is asking; its tenant and agent are resolved only when
// selected.
type Viewer struct {
	Kind     ViewerKind
	TenantID string
	AgentID  string
	Roles    []string
}
