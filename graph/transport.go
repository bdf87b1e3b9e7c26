package graph

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/switchboard-dev/switchboard/apperr"
)

// The media types of a GraphQL-over-HTTP answer.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// httpTransport serves GraphQL over HTTP (POST with a JSON body, GET with
// query parameters) with the status codes of the GraphQL-over-HTTP spec: a
// request that cannot be executed (parse, validation, limits) answers 200
// with errors to a client that accepts application/json, and 400 to one that
// asks for application/graphql-response+json; either way the body has no
// data entry, since nothing ran. checkRequest has already read the body and
// checked the type of every field, so nothing here echoes what was sent.
type httpTransport struct{}

var _ graphql.Transport = httpTransport{}

func (httpTransport) Supports(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return false
	}
	switch r.Method {
	case http.MethodGet:
		return true
	case http.MethodPost:
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		return ct == mediaJSON
	}
	return false
}

func (httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	media := responseMedia(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", media)
	start := graphql.Now()
	params, err := readParams(r)
	if err != nil {
		fieldRequestError(w, err)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	oc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		status := http.StatusOK
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs)
		w.WriteHeader(status)
		writeJSON(w, requestErrors{Errors: resp.Errors, Extensions: resp.Extensions})
		return
	}
	if r.Method == http.MethodGet && oc.Operation.Operation != ast.Query {
		w.Header().Set("Allow", http.MethodPost)
		requestError(w, http.StatusMethodNotAllowed, apperr.BadRequest, "a %s must be sent with POST", oc.Operation.Operation)
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, oc)
	resp := responses(ctx)
	if resp != nil {
		if wait := retryAfter(resp.Errors); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(wait))
		}
	}
	writeJSON(w, resp)
}

// requestErrors is the answer to a request that did not run: errors and no
// data entry.
type requestErrors struct {
	Errors     gqlerror.List  `json:"errors"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`, http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(b)
}

// responseMedia picks the answer's media type from Accept: the first of
// application/graphql-response+json and application/json it names, and
// application/json when it names neither (older clients send none).
func responseMedia(accept string) string {
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case mediaGraphQLResponse, mediaJSON:
			return mt
		}
	}
	return mediaJSON
}

// readParams reads the operation from a POST body or GET parameters.
func readParams(r *http.Request) (*graphql.RawParams, *apperr.Error) {
	if r.Method == http.MethodGet {
		return paramsFromQuery(r.URL.Query())
	}
	if p, ok := r.Context().Value(paramsKey{}).(*graphql.RawParams); ok {
		return p, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, apperr.New(apperr.BadRequest, "the body could not be read")
	}
	return paramsFromBody(body)
}

// paramsFromBody decodes a request body, refusing (and naming) any of the
// four fields whose JSON type is wrong. The message never quotes the body:
// it may hold a password.
func paramsFromBody(body []byte) (*graphql.RawParams, *apperr.Error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, apperr.New(apperr.BadRequest, "the body must be a JSON object with a query")
	}
	p := &graphql.RawParams{}
	for _, f := range []struct {
		name string
		into any
		kind string
	}{
		{"query", &p.Query, "a string"},
		{"operationName", &p.OperationName, "a string"},
		{"variables", &p.Variables, "a JSON object"},
		{"extensions", &p.Extensions, "a JSON object"},
	} {
		raw, ok := fields[f.name]
		if !ok || string(raw) == "null" {
			continue
		}
		if !hasJSONKind(raw, f.kind) || decodeJSON(raw, f.into) != nil {
			return nil, fieldError(f.name, f.kind)
		}
	}
	return p, nil
}

// paramsFromQuery reads GET parameters; variables and extensions are JSON
// objects in the query string.
func paramsFromQuery(q url.Values) (*graphql.RawParams, *apperr.Error) {
	p := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
	for _, f := range []struct {
		name string
		into any
	}{{"variables", &p.Variables}, {"extensions", &p.Extensions}} {
		v := q.Get(f.name)
		if v == "" {
			continue
		}
		if !hasJSONKind([]byte(v), "a JSON object") || decodeJSON([]byte(v), f.into) != nil {
			return nil, fieldError(f.name, "a JSON object")
		}
	}
	return p, nil
}

func fieldError(name, kind string) *apperr.Error {
	err := apperr.New(apperr.BadRequest, "the %s field must be %s", name, kind)
	err.Field = name
	return err
}

func hasJSONKind(raw []byte, kind string) bool {
	raw = []byte(strings.TrimSpace(string(raw)))
	if len(raw) == 0 {
		return false
	}
	switch kind {
	case "a string":
		return raw[0] == '"'
	case "a JSON object":
		return raw[0] == '{'
	}
	return false
}

// decodeJSON decodes like gqlgen does: numbers stay json.Number, so that an
// Int variable is not rounded through float64.
func decodeJSON(raw []byte, into any) error {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	return dec.Decode(into)
}
