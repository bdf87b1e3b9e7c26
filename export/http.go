package export

import (
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/attachment"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TrailerSHA256 closes an export's response with the SHA-256 of its body.
const TrailerSHA256 = attachment.TrailerSHA256

// Handler serves GET /export/conversations?format=jsonl|csv&number=…&agent=…&status=…&from=…&to=…
// (lists repeat the parameter; times are RFC 3339) behind the auth middleware,
// which puts the caller's viewer and decisions in the request's context.
func (s *Service) Handler(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			apperr.WriteMethodNotAllowed(w, http.MethodGet)
			return
		}
		if viewer.FromContext(r.Context()) == nil {
			apperr.WriteHTTP(w, apperr.New(apperr.Unauthenticated, "sign in first: Authorization: Bearer <token>"))
			return
		}
		if !policy.Can(r.Context(), policy.ConversationExport) {
			apperr.WriteHTTP(w, apperr.New(apperr.Forbidden, "your role may not export conversations (conversation.export)"))
			return
		}
		q := r.URL.Query()
		f := Filter{NumberIDs: q["number"], AgentIDs: q["agent"], Statuses: q["status"]}
		for name, dst := range map[string]**time.Time{"from": &f.From, "to": &f.To} {
			if v := q.Get(name); v != "" {
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					apperr.WriteHTTP(w, apperr.Invalid(name, "must be an RFC 3339 time, e.g. 2026-11-01T00:00:00Z"))
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
			apperr.WriteHTTP(w, apperr.Invalid("format", "must be %s or %s", JSONL, CSV))
			return
		}
		if _, err := f.where(); err != nil {
			apperr.WriteHTTP(w, err)
			return
		}
		attachment.Serve(w, r, log, fileOf(format, "conversations-"+attachment.Stamp(time.Now())), func(w io.Writer) (string, error) {
			res, err := s.Write(r.Context(), w, format, f)
			return res.SHA256, err
		})
	})
}

// fileOf names and types an export's file.
func fileOf(format, base string) attachment.File {
	if format == CSV {
		return attachment.File{Name: base + ".zip", Type: "application/zip"}
	}
	return attachment.File{Name: base + ".jsonl", Type: "application/x-ndjson"}
}
