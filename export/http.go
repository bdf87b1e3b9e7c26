package export

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TrailerSHA256 closes an export's response with the SHA-256 of its body.
const TrailerSHA256 = "X-Export-Sha256"

// Handler serves GET /export/conversations?format=jsonl|csv&number=…&agent=…&status=…&from=…&to=…
// (lists repeat the parameter; times are RFC 3339) behind the auth middleware,
// which puts the caller's viewer and decisions in the request's context.
func (s *Service) Handler(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			writeError(w, http.StatusMethodNotAllowed, apperr.New(apperr.BadRequest, "use GET"))
			return
		}
		if viewer.FromContext(r.Context()) == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
			writeError(w, http.StatusUnauthorized, apperr.New(apperr.Unauthenticated, "sign in first: Authorization: Bearer <token>"))
			return
		}
		if !policy.Can(r.Context(), policy.ConversationExport) {
			writeError(w, http.StatusForbidden, apperr.New(apperr.Forbidden, "your role may not export conversations (conversation.export)"))
			return
		}
		q := r.URL.Query()
		f := Filter{NumberIDs: q["number"], AgentIDs: q["agent"], Statuses: q["status"]}
		for name, dst := range map[string]**time.Time{"from": &f.From, "to": &f.To} {
			if v := q.Get(name); v != "" {
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					writeError(w, http.StatusBadRequest, apperr.Invalid(name, "must be an RFC 3339 time, e.g. 2026-11-01T00:00:00Z"))
					return
				}
				*dst = &t
			}
		}
		format := q.Get("format")
		if format == "" {
			format = JSONL
		}
		if format != JSONL && format != CSV {
			writeError(w, http.StatusBadRequest, apperr.Invalid("format", "must be %s or %s", JSONL, CSV))
			return
		}
		if _, err := f.where(); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		name, ctype := "conversations-"+time.Now().UTC().Format("20060102-150405")+".jsonl", "application/x-ndjson"
		if format == CSV {
			name, ctype = name[:len(name)-len(".jsonl")]+".zip", "application/zip"
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Trailer", TrailerSHA256)
		res, err := s.Write(r.Context(), w, format, f)
		if err != nil {
			// Half a file must not look whole: cut the connection.
			log.WarnContext(r.Context(), "export interrupted", "err", err, "conversations", res.Conversations, "messages", res.Messages)
			panic(http.ErrAbortHandler)
		}
		w.Header().Set(TrailerSHA256, res.SHA256)
	})
}

func writeError(w http.ResponseWriter, status int, err error) {
	var e *apperr.Error
	if !errors.As(err, &e) {
		e = apperr.New(apperr.Internal, "export failed")
	}
	ext := map[string]any{"code": e.Code}
	if e.Field != "" {
		ext["field"] = e.Field
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"message": e.Message, "extensions": ext}}})
}
