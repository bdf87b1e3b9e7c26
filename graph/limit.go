package graph

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/switchboard-dev/switchboard/apperr"
)

// queryLimits refuses operations nested deeper than maxDepth or costlier than
// maxComplexity before any resolver runs. Introspection is not counted in the
// depth (its type references nest by design).
type queryLimits struct {
	maxDepth      int
	maxComplexity int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = queryLimits{}

func (queryLimits) ExtensionName() string { return "QueryLimits" }

func (queryLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l queryLimits) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if d := depth(oc.Operation.SelectionSet, map[string]int{}); l.maxDepth > 0 && d > l.maxDepth {
		return limitError(apperr.QueryTooDeep, "the query is %d levels deep; the limit is %d", d, l.maxDepth)
	}
	if l.maxComplexity > 0 {
		if c := operationCost(oc.Operation, oc.Variables); c > l.maxComplexity {
			return limitError(apperr.QueryTooComplex, "the query costs %d; the limit is %d", c, l.maxComplexity)
		}
	}
	return nil
}

// Limit errors refuse the request before execution, like a validation error
// (a request error: httpTransport answers it without data).
func init() {
	errcode.RegisterErrorType(string(apperr.QueryTooDeep), errcode.KindProtocol)
	errcode.RegisterErrorType(string(apperr.QueryTooComplex), errcode.KindProtocol)
}

func limitError(code apperr.Code, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	err.Extensions = map[string]any{"code": string(code)}
	return err
}

// depth returns how deeply set nests fields. memo caches fragment depths so
// that a fragment used many times is walked once.
func depth(set ast.SelectionSet, memo map[string]int) int {
	deepest := 0
	for _, sel := range set {
		d := 0
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__schema" || s.Name == "__type" {
				continue
			}
			d = 1 + depth(s.SelectionSet, memo)
		case *ast.InlineFragment:
			d = depth(s.SelectionSet, memo)
		case *ast.FragmentSpread:
			if s.Definition == nil {
				continue
			}
			got, ok := memo[s.Name]
			if !ok {
				memo[s.Name] = 0 // validation forbids cycles; this only guards the walk
				got = depth(s.Definition.SelectionSet, memo)
				memo[s.Name] = got
			}
			d = got
		}
		deepest = max(deepest, d)
	}
	return deepest
}

// cost prices an operation by what it makes the server fetch: a row per
// object and per connection edge, one statement per connection (its
// totalCount and pageInfo come with it), nothing more for a scalar, which
// comes with its row. A connection multiplies what its edges cost by its
// page size, so a totalCount-only connection costs one count, not a page.
// Every element of a list argument costs one (a where filter with 20,000
// ids is not free), nodes(ids:) fetches one row per id, and a few fields
// cost far more than a row (expensiveFields). Fragments are priced once
// each; the result saturates instead of overflowing.
type cost struct {
	vars map[string]any
	memo map[string]int
}

// expensiveFields are fields whose resolver does much more than load a row.
var expensiveFields = map[string]int{
	"Query.verifyAuditChain": 1_000, // walks and hashes the tenant's whole audit chain
	"Number.costs":           50,    // aggregates a month of the number's messages
	"Segment.preview":        50,    // counts and samples a segment's contacts
	"Query.segmentPreview":   50,
	"Query.report":           500, // reads up to 400 days of facts and histograms (every agent may ask for theirs)
}

const costCeiling = 1 << 40

func operationCost(op *ast.OperationDefinition, vars map[string]any) int {
	c := cost{vars: vars, memo: map[string]int{}}
	return c.set(op.SelectionSet)
}

func (c *cost) set(set ast.SelectionSet) int {
	total := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			total += c.field(s)
		case *ast.InlineFragment:
			total += c.set(s.SelectionSet)
		case *ast.FragmentSpread:
			if s.Definition == nil {
				continue
			}
			got, ok := c.memo[s.Name]
			if !ok {
				c.memo[s.Name] = 0 // validation forbids cycles; this only guards the walk
				got = c.set(s.Definition.SelectionSet)
				c.memo[s.Name] = got
			}
			total += got
		}
		total = min(total, costCeiling)
	}
	return total
}

func (c *cost) field(f *ast.Field) int {
	if f.Definition == nil || f.ObjectDefinition == nil || f.Name == "__schema" || f.Name == "__type" {
		return 0 // introspection reads the schema in memory
	}
	args := f.ArgumentMap(c.vars)
	own := expensiveFields[f.ObjectDefinition.Name+"."+f.Name]
	for _, v := range args {
		own += listElements(v)
	}
	child := c.set(f.SelectionSet)
	onConnection := strings.HasSuffix(f.ObjectDefinition.Name, "Connection")
	switch {
	case isConnectionField(f.Definition):
		return own + 1 + pageSize(args)*child
	case onConnection && (f.Name == "totalCount" || f.Name == "pageInfo"):
		return own // fetched once with the connection, which is priced
	case onConnection && f.Name == "edges":
		return own + 1 + child // a row per edge; the connection multiplies it
	case strings.HasSuffix(f.ObjectDefinition.Name, "Edge") && f.Name == "node":
		return own + child // the edge's row
	case f.ObjectDefinition.Name == "Query" && f.Name == "nodes":
		ids, _ := args["ids"].([]any)
		return own + len(ids)*(1+child)
	case len(f.SelectionSet) == 0:
		return own // a scalar comes with its row
	case f.Definition.Type.Elem != nil:
		return own + 1 + DefaultPageSize*child // a plain list: as many rows as a page
	default:
		return own + 1 + child
	}
}

// isConnectionField reports whether def is a Relay connection (first and last
// arguments).
func isConnectionField(def *ast.FieldDefinition) bool {
	return def.Arguments.ForName("first") != nil && def.Arguments.ForName("last") != nil
}

// pageSize is the page a connection fetches: first or last, or the default
// page when neither is given (defaultPages writes it into the document).
func pageSize(args map[string]any) int {
	for _, name := range []string{"first", "last"} {
		if n, ok := toInt(args[name]); ok {
			return max(min(n, MaxPageSize), 0)
		}
	}
	if args["first"] == nil && args["last"] == nil {
		return DefaultPageSize
	}
	return MaxPageSize
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(min(max(n, -costCeiling), costCeiling)), true
	case json.Number:
		i, err := n.Int64()
		return int(min(max(i, -costCeiling), costCeiling)), err == nil
	case float64:
		return int(min(max(n, -costCeiling), costCeiling)), true
	}
	return 0, false
}

// listElements counts the elements of every list inside an argument value.
func listElements(v any) int {
	switch x := v.(type) {
	case []any:
		n := len(x)
		for _, e := range x {
			n += listElements(e)
		}
		return n
	case map[string]any:
		n := 0
		for _, e := range x {
			n += listElements(e)
		}
		return n
	}
	return 0
}

// defaultPages is the query cache with one change: before a validated
// document is cached (and run), every connection field that names neither
// first nor last is given first: DefaultPageSize. The root guard does that
// for root connections, but a nested one (a group's members, a
// conversation's messages) is loaded with its parent, and without a page
// size it would load every row. The document is not shared until it is
// added, so rewriting it here races with nothing.
type defaultPages struct {
	graphql.Cache[*ast.QueryDocument]
}

func (c defaultPages) Add(ctx context.Context, key string, doc *ast.QueryDocument) {
	for _, op := range doc.Operations {
		addDefaultPages(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		addDefaultPages(f.SelectionSet)
	}
	c.Cache.Add(ctx, key, doc)
}

func addDefaultPages(set ast.SelectionSet) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Definition != nil && isConnectionField(s.Definition) &&
				s.Arguments.ForName("first") == nil && s.Arguments.ForName("last") == nil {
				def := s.Definition.Arguments.ForName("first")
				s.Arguments = append(s.Arguments, &ast.Argument{
					Name:     "first",
					Position: s.Position,
					Value: &ast.Value{
						Kind: ast.IntValue, Raw: strconv.Itoa(DefaultPageSize), Position: s.Position,
						ExpectedType: def.Type,
					},
				})
			}
			addDefaultPages(s.SelectionSet)
		case *ast.InlineFragment:
			addDefaultPages(s.SelectionSet)
		}
	}
}
