package graph

import (
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql/introspection"
)

// IntrospectionQuery is the query GraphiQL sends before anything else.
const IntrospectionQuery = introspection.Query

// Document is a named GraphQL document for the limit tests, the benchmarks
// and the fuzz seeds.
type Document struct{ Name, Query string }

// WorstDocuments are the costliest documents known for parsing and
// validation, each under the body limit. Every one of them must be refused
// before validation, anonymous or signed in: by the document bound
// (QUERY_TOO_COMPLEX), or by the parser for nesting beyond its 1,000 levels.
func WorstDocuments() []Document {
	return []Document{
		{"4,500 distinct fragments", distinctFragments(4500)},
		{"one fragment spread 4,500 times", repeat("{", " ...F", 4500, " } fragment F on Query { __typename }")},
		{"fragments that spread each other twice, 30 deep", doublingFragments(30)},
		{"5,000 aliases", numbered("{", " a%d: __typename", 5000, " }")},
		{"6,000 fields with one name", repeat("{", " __typename", 6000, " }")},
		{"1,000 directives on a field", repeat("{ __typename", " @include(if: true)", 1000, " }")},
		{"a list nested 200,000 deep", "{ nodes(ids: " + strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000) + ") { id } }"},
		{"fields nested 1,001 deep", strings.Repeat("{ viewer ", 1000) + "{ kind" + strings.Repeat(" }", 1001)}, // the parser's own limit
		{"5,000 variables", numbered("query(", " $v%d: Int", 5000, ") { __typename }")},
	}
}

// EdgeDocuments are the costliest documents a signed-in caller may still
// send: just inside DefaultSignedInLimits. They pass the bound and are
// validated; BenchmarkWorstDocuments times them.
func EdgeDocuments() []Document {
	l := DefaultSignedInLimits
	return []Document{
		{"fragments at the spread limit", numbered("{", " ...F%d", l.Spreads, " }") +
			numbered("", " fragment F%[1]d on Query { v%[1]d: viewer { kind roles } }", l.Spreads, "")},
		{"one fragment spread to the limit", repeat("{", " ...F", l.Spreads, " } fragment F on Query { viewer { kind roles } }")},
		{"aliases at the limit", numbered("{", " a%d: viewer { kind }", l.Aliases, " }")},
		{"one name at the merge limit", repeat("{", " viewer { kind roles }", 57, " }")}, // 3 × 1,596 pairs
		{"directives at the limit", repeat("{ __typename", " @include(if: true)", l.Directives, " }")},
		{"tokens at the limit", repeat("{ nodes(ids: [", ` "cnv_x"`, l.Tokens-20, "]) { id } }")},
	}
}

func repeat(head, part string, n int, tail string) string {
	return head + strings.Repeat(part, n) + tail
}

func numbered(head, format string, n int, tail string) string {
	var b strings.Builder
	b.WriteString(head)
	for i := range n {
		fmt.Fprintf(&b, format, i)
	}
	b.WriteString(tail)
	return b.String()
}

// distinctFragments spreads n fragments that all select the same fields:
// the overlapping-fields rule compares every pair.
func distinctFragments(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " ...F%d", i)
	}
	b.WriteString(" }")
	for i := range n {
		fmt.Fprintf(&b, " fragment F%d on Query { viewer { kind roles } }", i)
	}
	return b.String()
}

// doublingFragments makes F_k spread F_(k-1) twice: 2^depth fields once
// expanded, from a document of a few hundred bytes.
func doublingFragments(depth int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{ ...F%d } fragment F0 on Query { __typename }", depth)
	for i := 1; i <= depth; i++ {
		fmt.Fprintf(&b, " fragment F%d on Query { ...F%d ...F%d }", i, i-1, i-1)
	}
	return b.String()
}
