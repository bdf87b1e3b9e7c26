// Package web serves the two pages of the API in a browser: GraphiQL, the
// in-browser GraphQL IDE (with subscriptions over a websocket), and the
// supervisor console. Their assets are embedded in the binary, so the pages
// work without internet access: GraphiQL 3.9.0 with React and ReactDOM 18.3.1,
// graphql-ws 6.4.2, Preact 10.28.0 and htm 3.1.1, copied from their npm
// packages by vendor.sh (README.md says how to update them).
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

// pageFiles are the files of static/ served as pages, not as assets.
var pageFiles = map[string]bool{"index.html": true, "console.html": true}

// pages are static/index.html (GraphiQL, served at "/") and
// static/console.html (served at "/console"), keyed by file name; assets are
// the other files of static/, served at "/static/<name>" and keyed by name.
var pages, assets = load()

func load() (map[string]asset, map[string]asset) {
	entries, err := fs.ReadDir(files, "static")
	if err != nil {
		panic("web: " + err.Error()) // the directory is embedded; this cannot happen
	}
	ps := make(map[string]asset, len(pageFiles))
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
		if pageFiles[name] {
			ps[name] = a
			continue
		}
		m[name] = a
	}
	for name := range pageFiles {
		if _, ok := ps[name]; !ok {
			panic("web: static/" + name + " is not embedded")
		}
	}
	return ps, m
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

// Handler serves the GraphiQL page at GET / (and GET /graphiql, where people
// look for it), the supervisor console at
// GET /console and their assets at GET /static/<name>; any other path is 404
// and any other method 405. The pages load their assets by relative URL, so
// they can also be mounted under a prefix with http.StripPrefix. Both always
// talk to /graphql.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", servePage("index.html"))
	mux.HandleFunc("GET /graphiql", servePage("index.html"))
	mux.HandleFunc("GET /console", servePage("console.html"))
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

func servePage(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// The pages are where tokens are typed or pasted: other sites may not
		// frame them, and they load nothing from anywhere but this server.
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		serve(w, r, pages[name])
	}
}

// contentSecurityPolicy keeps the pages on this server: scripts, styles,
// images and connections (fetch and websockets) to its own origin only.
// GraphiQL's page script is inline and GraphiQL sets inline styles.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

func serve(w http.ResponseWriter, r *http.Request, a asset) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", a.cacheControl)
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	// ServeContent handles HEAD, Range and If-None-Match (304).
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
