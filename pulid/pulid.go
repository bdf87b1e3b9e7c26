// Package pulid makes the prefixed ULID identifiers every entity carries
// ("cnv_01J…"). The prefix names the type, so node(id:) can route an ID without
// a lookup, and the ULID sorts by creation time on SQLite and Postgres alike.
package pulid

import (
	"strings"

	"github.com/oklog/ulid/v2"
)

// New returns a fresh identifier with the given type prefix.
func New(prefix string) string {
	return prefix + "_" + ulid.Make().String()
}

// Prefix returns the type prefix of id, and false when id is not shaped like
// "<prefix>_<26-char ULID>".
func Prefix(id string) (string, bool) {
	p, rest, ok := strings.Cut(id, "_")
	if !ok || p == "" || len(rest) != ulid.EncodedSize {
		return "", false
	}
	if _, err := ulid.ParseStrict(rest); err != nil {
		return "", false
	}
	return p, true
}

// Is reports whether id is well formed and carries prefix.
func Is(id, prefix string) bool {
	p, ok := Prefix(id)
	return ok && p == prefix
}
