// Package attachment streams an audited file to an HTTP client: the exports
// (conversations, contacts, broadcast outcomes) share how their bytes are
// counted and hashed, how a failure before or after the first byte is told,
// and how a CSV cell shows a value.
package attachment

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
)

// TrailerSHA256 closes a streamed file with the SHA-256 of its body.
const TrailerSHA256 = "X-Export-Sha256"

// Digest passes bytes on to a writer, counting and hashing them.
type Digest struct {
	w io.Writer
	h hash.Hash
	n int64
}

// NewDigest returns a Digest writing to w.
func NewDigest(w io.Writer) *Digest { return &Digest{w: w, h: sha256.New()} }

func (d *Digest) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	return n, err
}

// Bytes is how many bytes were written.
func (d *Digest) Bytes() int64 { return d.n }

// SHA256 is the hex SHA-256 of the bytes written.
func (d *Digest) SHA256() string { return hex.EncodeToString(d.h.Sum(nil)) }

// File describes what Serve sends.
type File struct {
	Name string // the file name the client saves it as
	Type string // its Content-Type
}

// Serve answers a GET with the bytes write produces as the attachment f.
// write returns the SHA-256 of what it wrote, which closes the response as
// the TrailerSHA256 trailer. The headers go with the first byte, so an
// error before it is answered by apperr.WriteHTTP; an error after it cuts
// the connection, so that half a file never looks whole.
func Serve(w http.ResponseWriter, r *http.Request, log *slog.Logger, f File, write func(io.Writer) (sha256 string, err error)) {
	if r.Method != http.MethodGet {
		apperr.WriteMethodNotAllowed(w, http.MethodGet)
		return
	}
	sent := false
	digest, err := write(writerFunc(func(p []byte) (int, error) {
		if !sent {
			sent = true
			w.Header().Set("Content-Type", f.Type)
			w.Header().Set("Content-Disposition", `attachment; filename="`+f.Name+`"`)
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Trailer", TrailerSHA256)
		}
		return w.Write(p)
	}))
	switch {
	case err != nil && !sent:
		apperr.WriteHTTP(w, err)
	case err != nil:
		log.WarnContext(r.Context(), "download interrupted", "file", f.Name, "err", err)
		panic(http.ErrAbortHandler)
	default:
		if !sent { // an empty file still gets its headers
			w.Header().Set("Content-Type", f.Type)
			w.Header().Set("Content-Disposition", `attachment; filename="`+f.Name+`"`)
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Trailer", TrailerSHA256)
		}
		w.Header().Set(TrailerSHA256, digest)
	}
}

// Stamp is a file name's time part, e.g. "20261130-120000".
func Stamp(t time.Time) string { return t.UTC().Format("20060102-150405") }

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Cell shows a value of a view (package view) as CSV text: nothing for nil
// or a nil pointer, times in RFC 3339 UTC, lists joined by ";".
func Cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case *string:
		if x == nil {
			return ""
		}
		return *x
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *time.Time:
		if x == nil {
			return ""
		}
		return x.UTC().Format(time.RFC3339Nano)
	case *int:
		if x == nil {
			return ""
		}
		return fmt.Sprint(*x)
	case []string:
		return strings.Join(x, ";")
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}
