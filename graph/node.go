package graph

import (
	"context"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/pulid"
)

// nodeType routes node(id:) by the ID's prefix, so no table is probed. A
// malformed ID is INVALID_INPUT; a well-formed one of another tenant is simply
// not found, like one that never existed.
func nodeType(_ context.Context, id string) (string, error) {
	prefix, ok := pulid.Prefix(id)
	if !ok {
		return "", apperr.Invalid("id", "%q is not a Switchboard id", id)
	}
	table, ok := ent.TableOfPrefix(prefix)
	if !ok {
		return "", apperr.Invalid("id", "%q has an unknown type prefix %q", id, prefix)
	}
	return table, nil
}
