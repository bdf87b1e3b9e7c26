package middleware

import (
	"crypto/subtle"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// BodyTimeout gives a request at most d to deliver its body (slowloris: a
// client that trickles a body a byte at a time would otherwise hold a
// connection and a goroutine for ever; ReadHeaderTimeout only covers the
// headers). The deadline is lifted once the body has been read, so a
// response that streams afterwards (SSE) is not cut; requests without a body
// (websocket upgrades, GET) are untouched. A server-wide ReadTimeout would
// instead kill every websocket after d.
func BodyTimeout(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d <= 0 || r.Body == nil || r.Body == http.NoBody || r.Header.Get("Upgrade") != "" {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(d)); err != nil {
			next.ServeHTTP(w, r) // a writer that cannot (httptest): nothing to protect
			return
		}
		r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline when the body ends.
type deadlineBody struct {
	io.ReadCloser
	once sync.Once
	lift func()
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.lift)
	}
	return n, err
}

// MetricsGuard protects an operator endpoint such as /metrics: with a token,
// only requests carrying `Authorization: Bearer <token>` pass (compared in
// constant time); without one, only callers on the loopback interface do,
// so a fresh install does not publish its internals to the internet.
func MetricsGuard(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !metricsAllowed(token, r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the operator's token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// SimulatorGuard protects the simulator's control API (paths under /_sim/:
// faults, outages, its clock, its numbers) like MetricsGuard protects
// /metrics; the simulated Cloud API beside it answers anyone, as the real
// one does, and checks its own tokens.
func SimulatorGuard(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sim/") && !metricsAllowed(token, r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="simulator"`)
			http.Error(w, "the simulator's control API needs the operator's token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func metricsAllowed(token string, r *http.Request) bool {
	if token != "" {
		got := r.Header.Get("Authorization")
		want := "Bearer " + token
		return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
