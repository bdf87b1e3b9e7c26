package outhook_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/contact"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/outbounddelivery"
	"github.com/switchboard-dev/switchboard/outhook"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestPayloadsObeyTheEndpointsRole: an endpoint acting as the auditor gets
// the customer's phone masked; one acting as the agent role (which sees only
// conversations of its own numbers, and an endpoint has none) gets nothing:
// its deliveries are SKIPPED, never sent.
func TestPayloadsObeyTheEndpointsRole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		var mu sync.Mutex
		got := map[string][]outhook.Payload{}
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			var p outhook.Payload
			require.NoError(t, json.NewDecoder(r.Body).Decode(&p))
			mu.Lock()
			got[r.URL.Path] = append(got[r.URL.Path], p)
			mu.Unlock()
		}))
		defer srv.Close()
		w.endpoint(t, srv.URL+"/auditor", policy.RoleAuditor, outhook.ConversationCreated, outhook.MessageReceived)
		agentEP, _ := w.endpoint(t, srv.URL+"/agent", policy.RoleAgent, outhook.ConversationCreated, outhook.MessageReceived)

		c := w.conversation(t)
		w.message(t, c, "my card number is 4970 1000 0000 0000")
		for range 3 {
			_, err := w.svc.DispatchOnce(t.Context())
			require.NoError(t, err)
			w.svc.Wait()
			w.clock.Advance(time.Second)
		}

		mu.Lock()
		defer mu.Unlock()
		require.Empty(t, got["/agent"], "the agent role sees no conversation through an endpoint")
		skipped, err := db.Client.OutboundDelivery.Query().
			Where(outbounddelivery.EndpointID(agentEP.ID), outbounddelivery.StateEQ(outbounddelivery.StateSKIPPED)).
			Count(viewer.Platform(t.Context()))
		require.NoError(t, err)
		require.Equal(t, 2, skipped)

		require.Len(t, got["/auditor"], 2)
		conv := got["/auditor"][0].Data["conversation"].(map[string]any)
		contact := conv["contact"].(map[string]any)
		require.Equal(t, c.ID, conv["id"])
		require.NotContains(t, contact["phone"], "33600000", "contact.view_phone is not the auditor's: masked")
		require.Contains(t, contact["phone"], "•")
		require.Equal(t, "Customer 1", contact["profileName"])
		msg := got["/auditor"][1].Data["message"].(map[string]any)
		require.Equal(t, "my card number is 4970 1000 0000 0000", msg["body"])
	})
}

// TestContactEvents: a contact created or changed through the contact
// service reaches an endpoint subscribed to contact events, cut to its role
// (the auditor's phone masked).
func TestContactEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		var mu sync.Mutex
		var got []outhook.Payload
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			var p outhook.Payload
			require.NoError(t, json.NewDecoder(r.Body).Decode(&p))
			mu.Lock()
			got = append(got, p)
			mu.Unlock()
		}))
		defer srv.Close()
		w.endpoint(t, srv.URL, policy.RoleAuditor, outhook.ContactCreated, outhook.ContactUpdated)

		contacts := contact.NewService(db.Client, w.pub)
		name, phone := "Noor", "+33699887766"
		c, err := contacts.Create(w.ctx, ent.CreateContactInput{WaID: "33699887766", ProfileName: &name, Phone: &phone})
		require.NoError(t, err)
		// Learnt from a webhook: their business-scoped id and username travel with the contact (contact.read).
		require.NoError(t, c.Update().SetUserID("FR.4455667788990011").SetUsername("@noor").Exec(w.ctx))
		_, err = contacts.Tag(w.ctx, c.ID, []string{"vip"}, nil)
		require.NoError(t, err)
		for range 3 {
			_, err := w.svc.DispatchOnce(t.Context())
			require.NoError(t, err)
			w.svc.Wait()
			w.clock.Advance(time.Second)
		}
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, got, 2)
		require.Equal(t, []string{outhook.ContactCreated, outhook.ContactUpdated}, []string{got[0].Type, got[1].Type})
		ct := got[1].Data["contact"].(map[string]any)
		require.Equal(t, c.ID, ct["id"])
		require.Equal(t, "Noor", ct["profileName"])
		require.NotContains(t, ct["phone"], "99887766", "masked for the auditor")
		require.Equal(t, []any{"vip"}, ct["tags"])
		require.Equal(t, "FR.4455667788990011", ct["userID"])
		require.Equal(t, "@noor", ct["username"])
	})
}
