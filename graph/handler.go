package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/graph/generated"
)

// Config sets the API's limits and switches.
type Config struct {
	// Introspection allows __schema and __type (GraphiQL needs it).
	Introspection bool
	// MaxDepth is the deepest nesting of fields an operation may have.
	MaxDepth int
	// MaxComplexity is the highest cost an operation may have; a connection
	// costs its page size times its selection.
	MaxComplexity int
	// MaxBodyBytes caps the size of a request body.
	MaxBodyBytes int64
	// StrictAudit fails a mutation that committed without the audit record
	// it declares (graph/permission.go) with INTERNAL, instead of logging it
	// at ERROR; every test runs with it (graphtest).
	StrictAudit bool
	// AnonymousDocument and SignedInDocument bound a document before it is
	// validated (zero fields take DefaultAnonymousLimits and
	// DefaultSignedInLimits).
	AnonymousDocument, SignedInDocument DocumentLimits

	// noFieldGuard leaves the field guard out; only the benchmark that
	// measures the guard's cost sets it (export_test.go).
	noFieldGuard bool
	// declared replaces the declarations of graph/permission.go, for the
	// test that shows a missing audit record fails (export_test.go).
	declared *map[string]mutationRule
	// validations counts the documents validated, for the tests that show a
	// document is bounded before validation runs (export_test.go).
	validations *atomic.Int64
}

// DefaultConfig is what the server runs with unless configured otherwise.
var DefaultConfig = Config{Introspection: true, MaxDepth: 12, MaxComplexity: 5000, MaxBodyBytes: 1 << 20}

// NewServer returns the gqlgen server for r: transports (POST, GET, SSE),
// automatic persisted queries, limits, the root-field guard and the error
// presenter. Handler wraps it for HTTP.
func NewServer(r *Resolver, cfg Config, websocket graphql.Transport) *handler.Server {
	es := generated.NewExecutableSchema(generated.Config{Resolvers: r})
	srv := handler.New(es)
	if websocket != nil {
		srv.AddTransport(websocket) // first: it takes the upgrade requests
	}
	srv.AddTransport(transport.Options{})
	// Before the HTTP transport: both accept a JSON POST, SSE asks for
	// text/event-stream. The gateway's SSE registers its streams for
	// revocation, caps and presence like its websockets; gqlgen's stock one
	// (for the benchmark's stock websocket peer) does none of that.
	if live, ok := websocket.(interface{ SSE() graphql.Transport }); ok {
		srv.AddTransport(live.SSE())
	} else {
		srv.AddTransport(transport.SSE{})
	}
	srv.AddTransport(httpTransport{})
	documents := defaultPages{lru.New[*ast.QueryDocument](1000)}
	srv.SetQueryCache(documents)
	srv.SetParserTokenLimit(cfg.SignedInDocument.withDefaults(DefaultSignedInLimits).Tokens)
	if cfg.validations != nil {
		srv.SetValidationRulesFn(func() *rules.Rules { cfg.validations.Add(1); return rules.NewDefaultRules() })
	}
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(newPersistedQueries(persistedQueryBytes))
	srv.Use(textGuard{})   // after the persisted query has put the text in place
	srv.Use(documentBound{ // after the persisted query has put the text in place
		cache:     documents,
		anonymous: cfg.AnonymousDocument.withDefaults(DefaultAnonymousLimits),
		signedIn:  cfg.SignedInDocument.withDefaults(DefaultSignedInLimits),
	})
	srv.Use(queryLimits{maxDepth: cfg.MaxDepth, maxComplexity: cfg.MaxComplexity})
	guard := rootGuard{introspection: cfg.Introspection, strictAudit: cfg.StrictAudit, mutations: mutations}
	if cfg.declared != nil {
		guard.mutations = *cfg.declared
	}
	srv.AroundRootFields(guard.guard)
	if !cfg.noFieldGuard {
		srv.AroundFields(fieldGuard{filters: newFilterSchema(es.Schema()), gates: typeGates(es.Schema())}.guard)
	}
	srv.SetErrorPresenter(presentError)
	srv.SetRecoverFunc(recoverPanic)
	return srv
}

// Handler serves GraphQL over HTTP: requests are checked for size and shape
// first, so that a malformed one gets a coded error instead of a bare 400.
func Handler(srv http.Handler, cfg Config) http.Handler {
	return withRequest(checkRequest(cfg.MaxBodyBytes, srv))
}

// checkRequest refuses, before any transport sees it, a request whose body
// is too large, not JSON, or has a field of the wrong type (every transport,
// SSE included, would otherwise echo the body into its error, and into the
// log). It never quotes what was sent: a body may hold a password.
func checkRequest(maxBytes int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if ct != "application/json" {
				requestError(w, http.StatusUnsupportedMediaType, apperr.BadRequest, "the Content-Type must be application/json")
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				requestError(w, http.StatusRequestEntityTooLarge, apperr.PayloadTooLarge, "the body is larger than %d bytes", maxBytes)
				return
			case err != nil:
				requestError(w, http.StatusBadRequest, apperr.BadRequest, "the body could not be read")
				return
			}
			params, perr := paramsFromBody(body)
			if perr != nil {
				fieldRequestError(w, perr)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body)) // for SSE, which reads it again
			r = r.WithContext(context.WithValue(r.Context(), paramsKey{}, params))
		case http.MethodGet:
			if r.Header.Get("Upgrade") != "" {
				break
			}
			if _, perr := paramsFromQuery(r.URL.Query()); perr != nil {
				fieldRequestError(w, perr)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// paramsKey carries the operation checkRequest decoded to httpTransport, so
// that a large body is decoded once.
type paramsKey struct{}

func fieldRequestError(w http.ResponseWriter, err *apperr.Error) {
	ext := map[string]any{"code": string(err.Code)}
	if err.Field != "" {
		ext["field"] = err.Field
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"message": err.Message, "extensions": ext}}})
}

func requestError(w http.ResponseWriter, status int, code apperr.Code, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{
			"message":    apperr.New(code, format, args...).Message,
			"extensions": map[string]any{"code": code},
		}},
	})
}

// NewAPI is the whole GraphQL endpoint: websocket upgrades go to the gateway
// (which authenticates from connection_init); other requests pass bearer
// authentication, then the request checks, then the executor. server.go
// mounts it; tests call it.
func NewAPI(r *Resolver, cfg Config, websocket graphql.Transport) http.Handler {
	srv := NewServer(r, cfg, websocket)
	api := r.auth.Middleware(Handler(srv, cfg))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if websocket != nil && websocket.Supports(req) {
			srv.ServeHTTP(w, req)
			return
		}
		api.ServeHTTP(w, req)
	})
}
