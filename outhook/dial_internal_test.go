package outhook

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/apperr"
)

// TestNoPrivateTargets: URLs naming this machine or a private network are
// refused when an endpoint is set, and the dialer refuses such an address
// at connect time, whatever name led to it.
func TestNoPrivateTargets(t *testing.T) {
	for _, u := range []string{
		"http://127.0.0.1:8080/x", "http://localhost/x", "https://10.1.2.3/", "http://[::1]/", "http://169.254.169.254/latest/meta-data",
		"http://192.168.0.10/", "http://100.64.1.1/", "https://db.internal/", "ftp://example.com/", "https://user:pw@example.com/",
		"file:///etc/passwd", "javascript:alert(1)", "https://example.com/#frag", "/relative",
	} {
		_, err := checkURL(u, false)
		require.Error(t, err, u)
		require.Equal(t, apperr.InvalidInput, apperr.CodeOf(err), u)
	}
	for _, u := range []string{"https://crm.example.com/hooks?k=1", "http://203.0.113.7:8443/in"} {
		_, err := checkURL(u, false)
		require.NoError(t, err, u)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	_, err := newHTTPClient(time.Second, false).Post(srv.URL, "application/json", nil)
	require.True(t, errors.Is(err, errPrivateTarget), "dialing %s: %v", srv.URL, err)
	resp, err := newHTTPClient(time.Second, true).Post(srv.URL, "application/json", nil)
	require.NoError(t, err, "allowed by the operator")
	resp.Body.Close()
}

// TestSignature: Verify accepts what Sign made, and refuses another body,
// another secret, and an old timestamp (a replay).
func TestSignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"evt_1"}`)
	h := Sign("whsec_a", now, body)
	require.NoError(t, Verify("whsec_a", h, body, now.Add(time.Minute), DefaultTolerance))
	require.ErrorIs(t, Verify("whsec_a", h, []byte(`{"id":"evt_2"}`), now, DefaultTolerance), ErrBadSignature)
	require.ErrorIs(t, Verify("whsec_b", h, body, now, DefaultTolerance), ErrBadSignature)
	require.ErrorIs(t, Verify("whsec_a", h, body, now.Add(10*time.Minute), DefaultTolerance), ErrStale)
	require.ErrorIs(t, Verify("whsec_a", "t=x,v1=zz", body, now, DefaultTolerance), ErrBadSignature)
}
