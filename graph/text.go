package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/switchboard-dev/switchboard/apperr"
)

// textGuard refuses, before anything runs, a document or variable holding a
// NUL byte (C strings and Postgres text end there) or a bidirectional
// override or isolate (U+202A–U+202E, U+2066–U+2069: text that reads
// differently from what it is, in names, tags and messages an agent trusts).
// No field of the API has a use for them.
type textGuard struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
} = textGuard{}

func (textGuard) ExtensionName() string { return "TextGuard" }

func (textGuard) Validate(graphql.ExecutableSchema) error { return nil }

func (textGuard) MutateOperationParameters(_ context.Context, params *graphql.RawParams) *gqlerror.Error {
	if what := forbiddenText(params.Query); what != "" {
		return invalidText("query", what)
	}
	for name, v := range params.Variables {
		if what := forbiddenValue(v); what != "" {
			return invalidText(name, what)
		}
	}
	return nil
}

func invalidText(field, what string) *gqlerror.Error {
	return &gqlerror.Error{
		Message:    field + " contains " + what,
		Extensions: map[string]any{"code": string(apperr.InvalidInput), "field": field},
	}
}

// forbiddenValue looks through a decoded JSON value for forbidden text.
func forbiddenValue(v any) string {
	switch v := v.(type) {
	case string:
		return forbiddenText(v)
	case map[string]any:
		for k, e := range v {
			if what := forbiddenText(k); what != "" {
				return what
			}
			if what := forbiddenValue(e); what != "" {
				return what
			}
		}
	case []any:
		for _, e := range v {
			if what := forbiddenValue(e); what != "" {
				return what
			}
		}
	}
	return ""
}

// forbiddenText names what s holds that no input may, or "".
func forbiddenText(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool {
		return r == 0 || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
	})
	switch {
	case i < 0:
		return ""
	case s[i] == 0:
		return "a NUL byte"
	}
	return "a bidirectional override"
}

// MutateOperationContext looks at the document's literal strings, decoded
// (an escaped "\u0000" is a NUL once parsed).
func (textGuard) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Doc == nil {
		return nil
	}
	for _, f := range oc.Doc.Fragments {
		if err := literalsIn(f.SelectionSet); err != nil {
			return err
		}
	}
	for _, op := range oc.Doc.Operations {
		for _, v := range op.VariableDefinitions {
			if err := literal(v.Variable, v.DefaultValue); err != nil {
				return err
			}
		}
		if err := literalsIn(op.SelectionSet); err != nil {
			return err
		}
	}
	return nil
}

func literalsIn(set ast.SelectionSet) *gqlerror.Error {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			for _, a := range s.Arguments {
				if err := literal(a.Name, a.Value); err != nil {
					return err
				}
			}
			if err := literalsIn(s.SelectionSet); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := literalsIn(s.SelectionSet); err != nil {
				return err
			}
		}
	}
	return nil
}

func literal(name string, v *ast.Value) *gqlerror.Error {
	if v == nil {
		return nil
	}
	if v.Kind == ast.StringValue || v.Kind == ast.BlockValue {
		if what := forbiddenText(v.Raw); what != "" {
			return invalidText(name, what)
		}
	}
	for _, c := range v.Children {
		if err := literal(name, c.Value); err != nil {
			return err
		}
	}
	return nil
}
