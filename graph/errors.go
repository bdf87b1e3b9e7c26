package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/privacy"
	"github.com/switchboard-dev/switchboard/store"
)

// cancelled: err is a context's end, or Postgres cancelling a statement
// (what lib/pq returns when the statement's context ends).
func cancelled(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || store.IsQueryCanceled(err)
}

// presentError gives every error a stable extensions.code. Errors the
// executor made (parse, validation, persisted query) keep their code; domain
// errors carry theirs; ent's are mapped; anything else is INTERNAL, logged
// with its cause and shown without it.
func presentError(ctx context.Context, err error) *gqlerror.Error {
	gerr := graphql.DefaultErrorPresenter(ctx, err)
	gerr.Path = subscriptionPath(ctx, gerr.Path)
	if _, ok := gerr.Extensions["code"]; ok {
		return gerr
	}
	code, msg, field := classify(err)
	if code == apperr.Internal && ctx.Err() != nil && cancelled(err) {
		// The operation's own context ended: the caller left (a subscriber
		// disconnecting mid-execution) or its deadline passed (on Postgres
		// lib/pq returns the server's "canceling statement due to user
		// request", not the context's error). Nothing is
		// broken and usually nobody reads the answer: no ERROR line, which
		// under load would fill the log.
		code, msg = apperr.Cancelled, "the request was cancelled or timed out"
		slog.DebugContext(ctx, "graphql: cancelled by the caller", append(operationAttrs(ctx), "path", gerr.Path.String(), "err", err)...)
	}
	if code == apperr.Internal {
		if arg, ok := argumentOf(ctx, gerr.Path); ok {
			// An argument the executor could not coerce (a cursor or a time
			// that does not parse): the client's mistake.
			code, msg, field = apperr.InvalidInput, "invalid value for "+arg+": "+gerr.Message, arg
		}
	}
	if code == apperr.Internal {
		slog.ErrorContext(ctx, "graphql: internal error", append(operationAttrs(ctx), "path", gerr.Path.String(), "err", err)...)
	}
	gerr.Message = msg
	if gerr.Extensions == nil {
		gerr.Extensions = map[string]any{}
	}
	gerr.Extensions["code"] = string(code)
	if field != "" {
		gerr.Extensions["field"] = field
	}
	var ae *apperr.Error
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		gerr.Extensions["retryAfter"] = apperr.RetrySeconds(ae.RetryAfter)
	}
	return gerr
}

// retryAfter is the longest wait the errors of a response ask for, in
// seconds (0: none), for the Retry-After header.
func retryAfter(errs gqlerror.List) int {
	longest := 0
	for _, e := range errs {
		if n, ok := e.Extensions["retryAfter"].(int); ok {
			longest = max(longest, n)
		}
	}
	return longest
}

func classify(err error) (code apperr.Code, msg, field string) {
	var (
		ae *apperr.Error
		ve *ent.ValidationError
	)
	switch {
	case errors.As(err, &ae):
		return ae.Code, ae.Message, ae.Field
	case ent.IsNotFound(err):
		return apperr.NotFound, "not found", ""
	case errors.As(err, &ve):
		name := ve.Name
		return apperr.InvalidInput, "invalid value for " + name, name
	case ent.IsConstraintError(err):
		return apperr.Conflict, "conflicts with an existing record", ""
	case errors.Is(err, privacy.Deny):
		return apperr.Forbidden, "not allowed", ""
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apperr.Internal, "the request was cancelled or timed out", ""
	}
	var gerr *gqlerror.Error
	if errors.As(err, &gerr) && gerr.Err == nil && strings.Contains(gerr.Message, "must be") {
		// Argument coercion errors made by the executor.
		return apperr.InvalidInput, gerr.Message, ""
	}
	return apperr.Internal, "internal error", ""
}

// argumentOf reports whether path leads into an argument of a field of the
// operation rather than to a field of the answer (gqlgen puts an argument's
// coercion error at the field's path followed by the argument's), and
// returns the argument's path, e.g. "where.createdAtGT".
func argumentOf(ctx context.Context, path ast.Path) (string, bool) {
	if !graphql.HasOperationContext(ctx) {
		return "", false
	}
	op := graphql.GetOperationContext(ctx).Operation
	if op == nil {
		return "", false
	}
	set := op.SelectionSet
	var field *ast.Field
	var arg []string
	for _, el := range path {
		name, ok := el.(ast.PathName)
		switch {
		case !ok:
			continue // a list index
		case arg != nil:
			arg = append(arg, string(name))
		default:
			if f := fieldByAlias(set, string(name)); f != nil {
				field, set = f, f.SelectionSet
				continue
			}
			if field == nil || field.Definition == nil || field.Definition.Arguments.ForName(string(name)) == nil {
				return "", false
			}
			arg = []string{string(name)}
		}
	}
	return strings.Join(arg, "."), arg != nil
}

func fieldByAlias(set ast.SelectionSet, alias string) *ast.Field {
	for _, sel := range set {
		var f *ast.Field
		switch s := sel.(type) {
		case *ast.Field:
			if s.Alias == alias {
				return s
			}
		case *ast.InlineFragment:
			f = fieldByAlias(s.SelectionSet, alias)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				f = fieldByAlias(s.Definition.SelectionSet, alias)
			}
		}
		if f != nil {
			return f
		}
	}
	return nil
}

// operationAttrs names the operation in a log line: its name and a hash of
// its text, never the text or the variables (they may hold a password).
func operationAttrs(ctx context.Context) []any {
	if !graphql.HasOperationContext(ctx) {
		return nil
	}
	oc := graphql.GetOperationContext(ctx)
	sum := sha256.Sum256([]byte(oc.RawQuery))
	return []any{"operation", oc.OperationName, "query_sha256", hex.EncodeToString(sum[:8])}
}

// subscriptionPath completes the path of an error inside a subscription
// event: gqlgen leaves out the root field, which the spec's path starts with.
func subscriptionPath(ctx context.Context, path ast.Path) ast.Path {
	if len(path) == 0 || !graphql.HasOperationContext(ctx) {
		return path
	}
	op := graphql.GetOperationContext(ctx).Operation
	if op == nil || op.Operation != ast.Subscription || len(op.SelectionSet) != 1 {
		return path
	}
	root, ok := op.SelectionSet[0].(*ast.Field)
	if !ok || path[0] == ast.PathName(root.Alias) {
		return path
	}
	return append(ast.Path{ast.PathName(root.Alias)}, path...)
}

// recoverPanic turns a resolver panic into an INTERNAL error, never a 500.
func recoverPanic(ctx context.Context, p any) error {
	slog.ErrorContext(ctx, "graphql: panic", append(operationAttrs(ctx), "panic", p, "path", graphql.GetPath(ctx).String())...)
	return apperr.New(apperr.Internal, "internal error")
}

// rootFieldError adds err at the path of the current root field and returns
// null for it.
func rootFieldError(ctx context.Context, err error) graphql.Marshaler {
	gerr := presentError(ctx, err)
	if fc := graphql.GetRootFieldContext(ctx); fc != nil {
		gerr.Path = ast.Path{ast.PathName(fc.Field.Alias)}
		gerr.Locations = []gqlerror.Location{{Line: fc.Field.Position.Line, Column: fc.Field.Position.Column}}
	}
	graphql.AddError(ctx, gerr)
	return graphql.Null
}
