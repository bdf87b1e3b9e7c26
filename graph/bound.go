package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/viewer"
)

// DocumentLimits bound the size of a GraphQL document before it is
// validated. Validation is not linear in the size of a document (the
// overlapping-fields rule compares fields pairwise, through every fragment
// spread: 4,500 spreads in 214 KB once cost 14 s of CPU), so what validation
// would walk is counted first, by a parse that is linear and stops at the
// token limit. Anonymous callers, who may only sign in and introspect, get
// small limits. A zero field takes its default.
type DocumentLimits struct {
	Tokens     int // lexical tokens
	Fields     int // fields once every fragment spread is expanded
	Spreads    int // fragment spreads written in the document
	Fragments  int // fragment definitions
	Aliases    int // aliased fields written in the document
	Directives int // directives written in the document
	// Merges counts the pairs of fields that share a response name in one
	// selection set (fragments expanded, same-named fields' selections
	// merged): the overlapping-fields rule compares each pair, so 2,500
	// copies of viewer { kind } cost seconds although they are only 5,000
	// fields.
	Merges int
}

var (
	// DefaultAnonymousLimits fit GraphiQL's introspection query and a sign-in.
	DefaultAnonymousLimits = DocumentLimits{Tokens: 2_000, Fields: 1_000, Spreads: 50, Fragments: 20, Aliases: 20, Directives: 20, Merges: 500}
	// DefaultSignedInLimits fit the largest console screen with room to spare.
	DefaultSignedInLimits = DocumentLimits{Tokens: 10_000, Fields: 5_000, Spreads: 200, Fragments: 200, Aliases: 200, Directives: 200, Merges: 5_000}
)

func (l DocumentLimits) withDefaults(def DocumentLimits) DocumentLimits {
	pick := func(v, d int) int {
		if v > 0 {
			return v
		}
		return d
	}
	return DocumentLimits{
		Tokens: pick(l.Tokens, def.Tokens), Fields: pick(l.Fields, def.Fields), Spreads: pick(l.Spreads, def.Spreads),
		Fragments: pick(l.Fragments, def.Fragments), Aliases: pick(l.Aliases, def.Aliases), Directives: pick(l.Directives, def.Directives),
		Merges: pick(l.Merges, def.Merges),
	}
}

// documentBound refuses an oversized document with QUERY_TOO_COMPLEX before
// gqlgen parses and validates it. It runs after automatic persisted queries
// have put the query text in place. A document in the query cache has passed
// validation already and costs nothing more to validate, so it is not counted
// again.
type documentBound struct {
	cache               graphql.Cache[*ast.QueryDocument]
	anonymous, signedIn DocumentLimits
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = documentBound{}

func (documentBound) ExtensionName() string { return "DocumentBound" }

func (documentBound) Validate(graphql.ExecutableSchema) error { return nil }

func (b documentBound) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	if params.Query == "" {
		return nil
	}
	if _, ok := b.cache.Get(ctx, params.Query); ok {
		return nil
	}
	limits := b.signedIn
	if viewer.FromContext(ctx) == nil {
		limits = b.anonymous
	}
	return checkDocument(params.Query, limits)
}

// checkDocument parses query (linear, and at most limits.Tokens tokens) and
// counts what validation would walk. A document that does not parse is left
// to gqlgen, which reports where.
func checkDocument(query string, limits DocumentLimits) *gqlerror.Error {
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, limits.Tokens)
	if err != nil {
		if strings.Contains(err.Error(), "exceeded token limit") {
			return limitError(apperr.QueryTooComplex, "the document has more than %d tokens", limits.Tokens)
		}
		return nil
	}
	c := documentCounter{fragments: map[string]*ast.FragmentDefinition{}, expanded: map[string]int{}, cap: limits.Fields + 1}
	for _, f := range doc.Fragments {
		c.fragments[f.Name] = f
	}
	for _, op := range doc.Operations {
		c.directives += len(op.Directives)
		c.written(op.SelectionSet)
		c.fields = min(c.cap, c.fields+c.expand(op.SelectionSet))
	}
	for _, f := range doc.Fragments {
		c.directives += len(f.Directives)
		c.written(f.SelectionSet)
	}
	for _, check := range []struct {
		what       string
		got, limit int
	}{
		{"fragment definitions", len(doc.Fragments), limits.Fragments},
		{"fragment spreads", c.spreads, limits.Spreads},
		{"aliases", c.aliases, limits.Aliases},
		{"directives", c.directives, limits.Directives},
		{"fields once its fragments are expanded", c.fields, limits.Fields},
	} {
		if check.got > check.limit {
			return limitError(apperr.QueryTooComplex, "the document has more than %d %s", check.limit, check.what)
		}
	}
	// Only now is walking the expanded document bounded (by Fields).
	c.cap = limits.Merges + 1
	for _, op := range doc.Operations {
		if c.merges([]ast.SelectionSet{op.SelectionSet}, 0) > limits.Merges {
			return limitError(apperr.QueryTooComplex, "the document has more than %d pairs of fields with one response name", limits.Merges)
		}
	}
	return nil
}

// documentCounter counts an unvalidated document: what is written, and how
// many fields the operations come to once fragments are expanded (memoised
// per fragment, saturating at cap, so that fragments that spread each other
// twice over do not make the count itself exponential).
type documentCounter struct {
	fragments                    map[string]*ast.FragmentDefinition
	expanded                     map[string]int
	cap                          int
	spreads, aliases, directives int
	fields                       int
}

func (c *documentCounter) written(set ast.SelectionSet) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			c.directives += len(s.Directives)
			if s.Alias != "" && s.Alias != s.Name {
				c.aliases++
			}
			c.written(s.SelectionSet)
		case *ast.InlineFragment:
			c.directives += len(s.Directives)
			c.written(s.SelectionSet)
		case *ast.FragmentSpread:
			c.directives += len(s.Directives)
			c.spreads++
		}
	}
}

// merges counts the same-name pairs in the union of sets (fragments
// expanded), then in the merged selections of each name, as the
// overlapping-fields rule compares them; it stops at c.cap. Fragments are
// expanded by name (a cycle stops at depth 64; validation refuses it).
func (c *documentCounter) merges(sets []ast.SelectionSet, depth int) int {
	if depth > 64 {
		return 0
	}
	byName := map[string][]ast.SelectionSet{}
	count := map[string]int{}
	spread := map[string]bool{}
	var order []string
	var collect func(set ast.SelectionSet, depth int)
	collect = func(set ast.SelectionSet, depth int) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				name := s.Alias
				if name == "" {
					name = s.Name
				}
				if count[name] == 0 {
					order = append(order, name)
				}
				count[name]++
				if len(s.SelectionSet) > 0 {
					byName[name] = append(byName[name], s.SelectionSet)
				}
			case *ast.InlineFragment:
				collect(s.SelectionSet, depth)
			case *ast.FragmentSpread:
				// The rule, like graphql-js, looks at a fragment once per
				// selection set however often it is spread there.
				if def := c.fragments[s.Name]; def != nil && depth < 64 && !spread[s.Name] {
					spread[s.Name] = true
					collect(def.SelectionSet, depth+1)
				}
			}
		}
	}
	for _, set := range sets {
		collect(set, 0)
	}
	pairs := 0
	for _, name := range order {
		k := count[name]
		pairs += k * (k - 1) / 2
		if pairs >= c.cap {
			return c.cap
		}
		if len(byName[name]) > 0 {
			pairs += c.merges(byName[name], depth+1)
		}
		if pairs >= c.cap {
			return c.cap
		}
	}
	return pairs
}

func (c *documentCounter) expand(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			n += 1 + c.expand(s.SelectionSet)
		case *ast.InlineFragment:
			n += c.expand(s.SelectionSet)
		case *ast.FragmentSpread:
			got, ok := c.expanded[s.Name]
			if !ok {
				c.expanded[s.Name] = c.cap // a cycle counts as too many; validation would refuse it anyway
				if def := c.fragments[s.Name]; def != nil {
					got = c.expand(def.SelectionSet)
				} else {
					got = 0
				}
				c.expanded[s.Name] = got
			}
			n += got
		}
		if n >= c.cap {
			return c.cap
		}
	}
	return n
}
