package outhook_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/auditevent"
	"github.com/switchboard-dev/switchboard/outhook"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestSustainedFailureDisablesTheEndpoint: an endpoint without a success
// for DisableAfter is switched off, with an audit record and an event for
// the tenant's screens; its deliveries wait (they are not lost) until it is
// enabled again.
func TestSustainedFailureDisablesTheEndpoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		bus := realtime.NewMemory()
		w.pub = realtime.NewPublisher(bus, slog.Default())
		w.svc = outhook.New(db.Client, w.box, w.authz, w.pub, w.clock, slog.Default(),
			outhook.Config{AllowPrivate: true, DisableAfter: time.Hour})
		w.pub.SetOutbox(w.svc)
		sub, err := bus.Subscribe(t.Context(), "")
		require.NoError(t, err)
		defer sub.Close()

		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
			rw.WriteHeader(http.StatusBadGateway)
		}))
		defer srv.Close()
		ep, _ := w.endpoint(t, srv.URL, policy.RoleOwner, outhook.ConversationCreated)
		w.conversation(t)
		for range 200 {
			_, err := w.svc.DispatchOnce(t.Context())
			require.NoError(t, err)
			w.svc.Wait()
			w.clock.Advance(time.Minute)
		}
		ep, err = db.Client.WebhookEndpoint.Get(w.ctx, ep.ID)
		require.NoError(t, err)
		require.False(t, ep.Enabled)
		require.Contains(t, ep.DisabledReason, "no successful delivery since")
		n, err := db.Client.AuditEvent.Query().Where(auditevent.Action("webhook.disabled"), auditevent.TargetID(ep.ID)).Count(w.ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		for {
			select {
			case e := <-sub.Events():
				if e.Type != realtime.WebhookEndpointChanged {
					continue
				}
				require.Equal(t, ep.ID, e.Subject)
				require.Equal(t, realtime.KindDisabled, e.Change().Kind)
			case <-time.After(5 * time.Second):
				t.Fatal("no webhook.endpoint event")
			}
			break
		}
		d, err := db.Client.OutboundDelivery.Query().Only(w.ctx)
		require.NoError(t, err)
		require.Equal(t, "PENDING", d.State.String(), "kept for when the endpoint is enabled again")
		require.Positive(t, d.Attempts)
		require.Equal(t, http.StatusBadGateway, *d.LastStatus)
	})
}
