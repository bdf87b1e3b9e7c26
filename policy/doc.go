// Package policy decides what a viewer may do: the permission catalogue
// (catalog.go, the one list of feature switches), the built-in roles and
// their default grants (role.go).
//
// Every mutation declares the permission it needs in graph/permission.go and
// is checked there before it runs; reads are scoped by tenant in ent privacy
// rules (ent/schema/tenancy.go).
package policy
