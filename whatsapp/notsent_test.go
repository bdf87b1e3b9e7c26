package whatsapp_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/whatsapp"
)

// A send that could not connect never reached the provider (a broadcast
// sends it again at once); one whose connection broke after the request went
// out may have been taken (it waits for its statuses).
func TestNotSent(t *testing.T) {
	t.Parallel()
	// a port nobody listens on: the dial is refused
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + l.Addr().String()
	require.NoError(t, l.Close())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	api := &whatsapp.Client{BaseURL: closed, Version: "v21.0"}
	_, err = api.SendTracked(ctx, "100200300", "token", "33600000001", "msg_1", nil, "hi")
	require.Error(t, err)
	require.True(t, whatsapp.NotSent(err), "refused at the dial: %v", err)

	// the server takes the request, then drops the connection unanswered
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer srv.Close()
	api = &whatsapp.Client{BaseURL: srv.URL, Version: "v21.0"}
	_, err = api.SendTracked(ctx, "100200300", "token", "33600000001", "msg_1", nil, "hi")
	require.Error(t, err)
	require.False(t, whatsapp.NotSent(err), "the request went out: %v", err)

	require.False(t, whatsapp.NotSent(errors.New("anything else")))
	require.False(t, whatsapp.NotSent(&whatsapp.APIError{Code: whatsapp.CodeThroughput, Status: 429}))
}
