package whatsapp_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/whatsapp"
)

// Sends in flight together keep their connections for the next ones: a
// number at 1,000 messages a second has 200 in flight, and with net/http's
// default (2 idle connections kept per host) nearly every send dialled anew.
// Each wave holds its 50 requests at the server until all 50 are there, so
// it needs 50 connections at once.
func TestSendsKeepTheirConnections(t *testing.T) {
	t.Parallel()
	const inFlight = 50
	var mu sync.Mutex
	conns := map[string]bool{}
	arrived := 0
	full := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr] = true
		arrived++
		wave := full
		if arrived == inFlight {
			arrived, full = 0, make(chan struct{})
			close(wave)
		}
		mu.Unlock()
		<-wave
		_, _ = w.Write([]byte(`{"success":true}`))
	}))
	t.Cleanup(srv.Close)
	c := &whatsapp.Client{BaseURL: srv.URL} // the default HTTP client
	wave := func() {
		var wg sync.WaitGroup
		for range inFlight {
			wg.Go(func() { _ = c.MarkRead(t.Context(), "106540352242922", "token", "wamid.x") })
		}
		wg.Wait()
	}
	wave()
	require.Equal(t, inFlight, len(conns))
	wave()
	wave()
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, inFlight, len(conns), "the later waves reused the first one's connections")
}
