package middleware

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	tests := []struct {
		name, method, origin string
		allowed              []string
		status               int
		allowOrigin          string
	}{
		{"same origin", "POST", "", []string{"https://app.example"}, 200, ""},
		{"allowed", "POST", "https://app.example", []string{"https://app.example"}, 200, "https://app.example"},
		{"preflight allowed", "OPTIONS", "https://app.example", []string{"https://app.example"}, 204, "https://app.example"},
		{"preflight refused", "OPTIONS", "https://evil.example", []string{"https://app.example"}, 403, ""},
		{"not allowed", "POST", "https://evil.example", []string{"https://app.example"}, 200, ""},
		{"any", "POST", "https://x.example", []string{"*"}, 200, "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, "/graphql", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			req.Header.Set("Access-Control-Request-Method", "POST")
			rec := httptest.NewRecorder()
			CORS(tt.allowed, ok).ServeHTTP(rec, req)
			require.Equal(t, tt.status, rec.Code)
			require.Equal(t, tt.allowOrigin, rec.Header().Get("Access-Control-Allow-Origin"))
		})
	}
}

// The wrapped writer must still stream (SSE) and upgrade (websockets).
func TestWrappedWriterKeepsFlushAndHijack(t *testing.T) {
	t.Parallel()
	var flushed, hijackable bool
	h := Log(slog.New(slog.NewTextHandler(io.Discard, nil)), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, flushed = w.(http.Flusher)
		_, hijackable = w.(http.Hijacker)
		require.NoError(t, http.NewResponseController(w).Flush())
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL)
	require.NoError(t, err)
	res.Body.Close()
	require.True(t, flushed)
	require.True(t, hijackable)
}

func TestLogRecoversPanics(t *testing.T) {
	t.Parallel()
	h := Log(slog.New(slog.NewTextHandler(io.Discard, nil)), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	require.Equal(t, 500, rec.Code)
}
