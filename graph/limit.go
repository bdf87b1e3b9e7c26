package graph

import (
	"context"
	"reflect"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/graph/generated"
)

// queryLimits refuses operations nested deeper than maxDepth or costlier than
// maxComplexity before any resolver runs. Introspection is not counted in the
// depth (its type references nest by design).
type queryLimits struct {
	schema        graphql.ExecutableSchema
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
		c := complexity.Calculate(ctx, l.schema, oc.Operation, oc.Variables)
		if c > l.maxComplexity {
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

// connectionComplexity makes every connection field (one with first and last
// arguments) cost its page size times its selection, so that a page of 100
// nodes costs 100 times one node. An unbounded page counts as MaxPageSize.
func connectionComplexity() generated.ComplexityRoot {
	var root generated.ComplexityRoot
	intPtr := reflect.TypeFor[*int]()
	objects := reflect.ValueOf(&root).Elem()
	for i := range objects.NumField() {
		fields := objects.Field(i)
		for j := range fields.NumField() {
			f := fields.Field(j)
			t := f.Type()
			// func(childComplexity int, after, first *int, before, last *int, ...) int
			if t.Kind() != reflect.Func || t.NumIn() < 5 || t.In(2) != intPtr || t.In(4) != intPtr {
				continue
			}
			f.Set(reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
				child := int(args[0].Int())
				size := MaxPageSize
				for _, a := range []reflect.Value{args[2], args[4]} {
					if !a.IsNil() {
						size = int(a.Elem().Int())
					}
				}
				return []reflect.Value{reflect.ValueOf(1 + child*max(size, 1))}
			}))
		}
	}
	return root
}
