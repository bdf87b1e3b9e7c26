// Package web serves GraphiQL, the in-browser GraphQL IDE, for the API at
// /graphql. Its assets are embedded in the binary, so the page works without
// internet access: GraphiQL 3.9.0 with React and ReactDOM 18.3.1, copied from
// their npm packages (README.md says how to update them).
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"time"
)

//go:embed static
var files embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	body         []byte
	contentType  string
	cacheControl string
	etag         string
}

const (
	// cacheImmutable is for assets with a version in their name: a new
	// version gets a new URL, so browsers may keep them for a year.
	cacheImmutable = "public, max-age=31536000, immutable"
	// cacheRevalidate is for everything else (the page, the licenses): the
	// browser asks again each time and gets a 304 if the ETag still matches.
	cacheRevalidate = "no-cache"
)

// versioned matches a file name with a version in it, like
// graphiql-3.9.0.min.js.
var versioned = regexp.MustCompile(`-\d+\.\d+\.\d+[.-]`)

// contentTypes is fixed rather than left to mime.TypeByExtension, whose
// answer depends on the host's MIME tables.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
}

// page is static/index.html, served at "/"; assets are the other files of
// static/, served at "/static/<name>" and keyed by name.
var page, assets = load()

func load() (asset, map[string]asset) {
	entries, err := fs.ReadDir(files, "static")
	if err != nil {
		panic("web: " + err.Error()) // the directory is embedded; this cannot happen
	}
	var idx asset
	m := make(map[string]asset, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		body, err := files.ReadFile("static/" + name)
		if err != nil {
			panic("web: " + err.Error())
		}
		a := newAsset(name, body)
		if name == "index.html" {
			idx = a
			continue
		}
		m[name] = a
	}
	if idx.body == nil {
		panic("web: static/index.html is not embedded")
	}
	return idx, m
}

func newAsset(name string, body []byte) asset {
	ext := path.Ext(name)
	ct, ok := contentTypes[ext]
	if !ok {
		if ct = mime.TypeByExtension(ext); ct == "" {
			ct = "application/octet-stream"
		}
	}
	cc := cacheRevalidate
	if versioned.MatchString(name) {
		cc = cacheImmutable
	}
	sum := sha256.Sum256(body)
	return asset{
		body:         body,
		contentType:  ct,
		cacheControl: cc,
		etag:         `"` + hex.EncodeToString(sum[:12]) + `"`,
	}
}

// Handler serves the GraphiQL page at GET / and its assets at
// GET /static/<name>; any other path is 404 and any other method 405. The
// page loads its assets by relative URL, so it can also be mounted under a
// prefix with http.StripPrefix, as long as the page is reached with a
// trailing slash. It always talks to /graphql.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		// The page is where tokens get pasted: don't let other sites frame it.
		w.Header().Set("X-Frame-Options", "DENY")
		serve(w, r, page)
	})
	mux.HandleFunc("GET /static/{name}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.PathValue("name")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		serve(w, r, a)
	})
	return mux
}

func serve(w http.ResponseWriter, r *http.Request, a asset) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", a.cacheControl)
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	// ServeContent handles HEAD, Range and If-None-Match (304).
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
