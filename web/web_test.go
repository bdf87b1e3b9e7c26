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

// assetRefs are the src and href attributes of a page that point at its
// own assets; moduleImports the relative imports of a JavaScript module.
var (
	assetRefs     = regexp.MustCompile(`(?:src|href)="(static/[^"]+)"`)
	moduleImports = regexp.MustCompile(`(?:from|import)\s*["']\./([^"']+)["']`)
)

// pageAssets are the assets a page loads: those it names, and the modules
// its scripts import, transitively.
func pageAssets(t *testing.T, page string) []string {
	t.Helper()
	rec := get(t, http.MethodGet, page, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	var refs []string
	seen := map[string]bool{}
	var add func(ref string)
	add = func(ref string) {
		if seen[ref] {
			return
		}
		seen[ref] = true
		refs = append(refs, ref)
		if path.Ext(ref) != ".js" {
			return
		}
		res := get(t, http.MethodGet, "/"+ref, nil)
		require.Equal(t, http.StatusOK, res.Code, "%s loads %s", page, ref)
		for _, m := range moduleImports.FindAllStringSubmatch(res.Body.String(), -1) {
			add("static/" + m[1])
		}
	}
	for _, m := range assetRefs.FindAllStringSubmatch(rec.Body.String(), -1) {
		add(m[1])
	}
	return refs
}

func TestPage(t *testing.T) {
	t.Parallel()
	rec := get(t, http.MethodGet, "/", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	also := get(t, http.MethodGet, "/graphiql", nil)
	require.Equal(t, http.StatusOK, also.Code)
	require.Equal(t, rec.Body.String(), also.Body.String(), "/graphiql is the same page")
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
	require.NotEmpty(t, rec.Header().Get("ETag"))

	body := rec.Body.String()
	for _, tag := range []string{
		`<link rel="stylesheet" href="static/graphiql-3.9.0.min.css">`,
		`<script src="static/react-18.3.1.production.min.js"></script>`,
		`<script src="static/react-dom-18.3.1.production.min.js"></script>`,
		`<script src="static/graphiql-3.9.0.min.js"></script>`,
		`<script src="static/graphql-ws-6.4.2.min.js"></script>`,
	} {
		require.Contains(t, body, tag)
	}
	require.Contains(t, body, `GraphiQL.createFetcher({ url: '/graphql' })`)
	require.Contains(t, body, `graphqlWs.createClient({ url: wsURL, connectionParams:`, "subscriptions go over a websocket signed in with the headers")
	require.Contains(t, body, `isHeadersEditorEnabled: true`)
	require.Contains(t, body, `login(`)
	require.Contains(t, body, `'subscription Live {'`, "the welcome text shows a subscription")
	require.Len(t, pageAssets(t, "/"), 5, "the page should reference exactly the five bundled assets")
}

func TestConsolePage(t *testing.T) {
	t.Parallel()
	rec := get(t, http.MethodGet, "/console", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Equal(t, "DENY", rec.Header().Get("X-Frame-Options"))
	require.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'self'")
	require.Contains(t, rec.Header().Get("Content-Security-Policy"), "connect-src 'self'")
	require.ElementsMatch(t, []string{
		"static/console.css",
		"static/graphql-ws-6.4.2.min.js",
		"static/console.js",
		"static/preact-10.28.0.module.js",
		"static/preact-hooks-10.28.0.module.js",
		"static/htm-3.1.1.module.js",
	}, pageAssets(t, "/console"), "the console loads its own script and the vendored modules, nothing else")
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
	// Vendored files carry their version and are cached for good; the
	// console's own script and style are asked again each time.
	wantCache := map[string]string{
		"static/console.js":  "no-cache",
		"static/console.css": "no-cache",
	}
	refs := append(pageAssets(t, "/"), pageAssets(t, "/console")...)
	for _, ref := range refs {
		t.Run(ref, func(t *testing.T) {
			t.Parallel()
			rec := get(t, http.MethodGet, "/"+ref, nil)
			require.Equal(t, http.StatusOK, rec.Code)
			require.Equal(t, wantType[path.Ext(ref)], rec.Header().Get("Content-Type"))
			cache := wantCache[ref]
			if cache == "" {
				cache = "public, max-age=31536000, immutable"
			}
			require.Equal(t, cache, rec.Header().Get("Cache-Control"))
			require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))

			want, err := os.ReadFile(ref) // the test runs in web/
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, rec.Body.Bytes()), "served bytes differ from %s", ref)
		})
	}
}

func TestLicenses(t *testing.T) {
	t.Parallel()
	for name, licence := range map[string]string{
		"graphiql": "MIT License", "react": "MIT License", "react-dom": "MIT License",
		"graphql-ws": "MIT License", "preact": "MIT License", "htm": "Apache License",
	} {
		rec := get(t, http.MethodGet, "/static/LICENSE."+name+".txt", nil)
		require.Equal(t, http.StatusOK, rec.Code, name)
		require.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
		require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
		require.Contains(t, rec.Body.String(), licence, name)
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
		"/static/console.html",
		"/console/",
		"/console/x",
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
