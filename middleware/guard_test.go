package middleware

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A body that trickles in is cut off at the deadline; one that arrives in
// time is read, and the answer may then stream for longer than the deadline.
func TestBodyTimeout(t *testing.T) {
	t.Parallel()
	const deadline = 300 * time.Millisecond
	read := make(chan error, 4)
	srv := httptest.NewServer(BodyTimeout(deadline, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		read <- err
		if err != nil {
			return
		}
		for range 3 { // stream past the deadline, as SSE does
			fmt.Fprintln(w, "event")
			http.NewResponseController(w).Flush()
			time.Sleep(deadline / 2)
		}
	})))
	t.Cleanup(srv.Close)

	t.Run("slowloris", func(t *testing.T) {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		require.NoError(t, err)
		defer conn.Close()
		_, err = fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
		require.NoError(t, err)
		start := time.Now()
		for time.Since(start) < 3*deadline { // a byte now and then, never the whole body
			if _, err := conn.Write([]byte(" ")); err != nil {
				break
			}
			time.Sleep(deadline / 5)
		}
		select {
		case err := <-read:
			require.Error(t, err, "the trickling body is cut off")
		case <-time.After(5 * time.Second):
			t.Fatal("the handler is still reading")
		}
	})
	t.Run("a body in time, then a long answer", func(t *testing.T) {
		res, err := http.Post(srv.URL, "application/json", strings.NewReader(`{"query": "{ __typename }"}`))
		require.NoError(t, err)
		defer res.Body.Close()
		require.NoError(t, <-read)
		lines := 0
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines++
		}
		require.NoError(t, sc.Err())
		require.Equal(t, 3, lines, "the stream outlives the body deadline")
	})
}

func TestMetricsGuard(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "metrics") })
	tests := []struct {
		name, token, remote, auth string
		status                    int
	}{
		{"no token, loopback", "", "127.0.0.1:5000", "", 200},
		{"no token, loopback v6", "", "[::1]:5000", "", 200},
		{"no token, remote", "", "203.0.113.7:5000", "", 401},
		{"token, right", "s3cret", "203.0.113.7:5000", "Bearer s3cret", 200},
		{"token, wrong", "s3cret", "203.0.113.7:5000", "Bearer nope", 401},
		{"token, missing even on loopback", "s3cret", "127.0.0.1:5000", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.RemoteAddr = tt.remote
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			MetricsGuard(tt.token, ok).ServeHTTP(rec, req)
			require.Equal(t, tt.status, rec.Code)
		})
	}
}

// M7: the simulator's control API (faults, outages, its clock, its numbers)
// answers only loopback callers, or the operator's token when one is set;
// the simulated Cloud API beside it is not guarded here.
func TestSimulatorGuard(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "sim") })
	tests := []struct {
		name, token, path, remote, auth string
		status                          int
	}{
		{"control, remote", "", "/_sim/faults", "203.0.113.7:5000", "", 401},
		{"control, loopback", "", "/_sim/faults", "127.0.0.1:5000", "", 200},
		{"control, token", "s3cret", "/_sim/outage", "203.0.113.7:5000", "Bearer s3cret", 200},
		{"control, wrong token", "s3cret", "/_sim/clock", "203.0.113.7:5000", "Bearer nope", 401},
		{"cloud API, remote", "", "/v21.0/123/messages", "203.0.113.7:5000", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodPut, tt.path, nil)
			req.RemoteAddr = tt.remote
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			SimulatorGuard(tt.token, ok).ServeHTTP(rec, req)
			require.Equal(t, tt.status, rec.Code)
		})
	}
}
