package web_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/web"
)

func get(t *testing.T, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	web.Handler().ServeHTTP(rec, req)
	return rec
}

// assetRefs are the src and href attributes of the page that point at its
// own assets.
var assetRefs = regexp.MustCompile(`(?:src|href)="(static/[^"]+)"`)

func pageAssets(t *testing.T) []string {
	t.Helper()
	rec := get(t, http.MethodGet, "/", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	var refs []string
	for _, m := range assetRefs.FindAllStringSubmatch(rec.Body.String(), -1) {
		refs = append(refs, m[1])
	}
	return refs
}

func TestPage(t *testing.T) {
	t.Parallel()
	rec := get(t, http.MethodGet, "/", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
	require.NotEmpty(t, rec.Header().Get("ETag"))

	body := rec.Body.String()
	for _, tag := range []string{
		`<link rel="stylesheet" href="static/graphiql-3.9.0.min.css">`,
		`<script src="static/react-18.3.1.production.min.js"></script>`,
		`<script src="static/react-dom-18.3.1.production.min.js"></script>`,
		`<script src="static/graphiql-3.9.0.min.js"></script>`,
	} {
		require.Contains(t, body, tag)
	}
	require.Contains(t, body, `GraphiQL.createFetcher({ url: '/graphql' })`)
	require.Contains(t, body, `isHeadersEditorEnabled: true`)
	require.Contains(t, body, `login(`)
	require.Len(t, pageAssets(t), 4, "the page should reference exactly the four bundled assets")
}

func TestPageRevalidates(t *testing.T) {
	t.Parallel()
	etag := get(t, http.MethodGet, "/", nil).Header().Get("ETag")
	rec := get(t, http.MethodGet, "/", http.Header{"If-None-Match": {etag}})
	require.Equal(t, http.StatusNotModified, rec.Code)
	require.Empty(t, rec.Body.String())
}

func TestAssets(t *testing.T) {
	t.Parallel()
	wantType := map[string]string{
		".js":  "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8",
	}
	for _, ref := range pageAssets(t) {
		t.Run(ref, func(t *testing.T) {
			t.Parallel()
			rec := get(t, http.MethodGet, "/"+ref, nil)
			require.Equal(t, http.StatusOK, rec.Code)
			require.Equal(t, wantType[path.Ext(ref)], rec.Header().Get("Content-Type"))
			require.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"))
			require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))

			want, err := os.ReadFile(ref) // the test runs in web/
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, rec.Body.Bytes()), "served bytes differ from %s", ref)
		})
	}
}

func TestLicenses(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"graphiql", "react", "react-dom"} {
		rec := get(t, http.MethodGet, "/static/LICENSE."+name+".txt", nil)
		require.Equal(t, http.StatusOK, rec.Code, name)
		require.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
		require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
		require.Contains(t, rec.Body.String(), "MIT License")
	}
}

func TestHead(t *testing.T) {
	t.Parallel()
	rec := get(t, http.MethodHead, "/static/graphiql-3.9.0.min.js", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Empty(t, rec.Body.String())
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	for _, target := range []string{
		"/nope",
		"/index.html",
		"/graphql",
		"/static/",
		"/static/nope.js",
		"/static/index.html",
		"/static/graphiql-3.9.0.min.js/x",
	} {
		rec := get(t, http.MethodGet, target, nil)
		require.Equal(t, http.StatusNotFound, rec.Code, target)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	rec := get(t, http.MethodPost, "/", nil)
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	require.Contains(t, rec.Header().Get("Allow"), http.MethodGet)
}
