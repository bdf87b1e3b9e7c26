package contact

import (
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/attachment"
)

// TrailerSHA256 closes an export's response with the SHA-256 of its body.
const TrailerSHA256 = attachment.TrailerSHA256

// ImportHandler serves POST /contacts/import?mode=PER_ROW|ALL_OR_NOTHING&source=…
// behind the auth middleware. The body is the CSV itself (text/csv), or a
// multipart/form-data form whose "file" part is; either is read as it
// arrives. It answers 200 with the ImportResult (refused rows included), or
// an error for the request as a whole.
func (s *Service) ImportHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			apperr.WriteHTTP(w, apperr.New(apperr.BadRequest, "use POST with the CSV as the body"))
			return
		}
		body, err := csvBody(r)
		if err != nil {
			apperr.WriteHTTP(w, err)
			return
		}
		q := r.URL.Query()
		res, err := s.Import(r.Context(), body, ImportOptions{Mode: q.Get("mode"), Source: q.Get("source")})
		if err != nil {
			apperr.WriteHTTP(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(res)
	})
}

// csvBody is the CSV of an import request: the body, or the "file" part of
// a multipart form, unread.
func csvBody(r *http.Request) (io.Reader, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return r.Body, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, apperr.New(apperr.BadRequest, "unreadable multipart body: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, apperr.Invalid("file", `the form has no "file" part`)
		}
		if err != nil {
			return nil, apperr.New(apperr.BadRequest, "unreadable multipart body: %v", err)
		}
		if part.FormName() == "file" {
			return part, nil
		}
	}
}

// ExportHandler serves GET /contacts/export behind the auth middleware: the
// contacts as CSV (Export), streamed, closed by the X-Export-Sha256 trailer.
func (s *Service) ExportHandler(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := attachment.File{Name: "contacts-" + attachment.Stamp(time.Now()) + ".csv", Type: "text/csv; charset=utf-8"}
		attachment.Serve(w, r, log, f, func(w io.Writer) (string, error) {
			res, err := s.Export(r.Context(), w)
			return res.SHA256, err
		})
	})
}
