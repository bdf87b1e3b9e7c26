package graph_test

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/attachment"
	"github.com/switchboard-dev/switchboard/broadcast"
	"github.com/switchboard-dev/switchboard/ent/auditevent"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestBroadcastOutcomesCSV: GET /broadcasts/{id}/outcomes.csv streams one
// row per recipient with wa_id under the caller's field rules (masked for a
// role without contact.view_phone), closes with the hash of the body, and is
// audited with rows and hash; without a token, without
// broadcast.view_stats, or for a broadcast of another tenant, nothing.
func TestBroadcastOutcomesCSV(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.DefaultConfig)
		w := seedWorld(t, s, "alpha")
		other := seedWorld(t, s, "beta")
		s.Do(t, w.token, `mutation { createRole(input: {name: "marketer", label: "Marketer",
			permissions: ["broadcast.view_stats", "contact.read"]}) { id } }`, nil).RequireOK(t)
		s.Do(t, w.token, `mutation { createAgent(input: {name: "Mo", email: "mo@alpha.test", password: "long enough pw", roles: ["marketer"]}) { id } }`, nil).RequireOK(t)
		marketer := s.Login(t, "mo@alpha.test", "long enough pw")
		agent := s.Login(t, "agent@alpha.test", graphtest.Password)

		get := func(token, id string) *httptest.ResponseRecorder {
			t.Helper()
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/broadcasts/"+id+"/outcomes.csv", nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			rec := httptest.NewRecorder()
			s.App.Handler().ServeHTTP(rec, req)
			return rec
		}
		require.Equal(t, http.StatusUnauthorized, get("", w.broadcast).Code)
		require.Equal(t, http.StatusForbidden, get(agent, w.broadcast).Code)
		require.Equal(t, http.StatusNotFound, get(marketer, other.broadcast).Code)

		for _, c := range []struct {
			token  string
			masked bool
		}{{w.token, false}, {marketer, true}} {
			rec := get(c.token, w.broadcast)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			sum := sha256.Sum256(rec.Body.Bytes())
			digest := hex.EncodeToString(sum[:])
			require.Equal(t, digest, rec.Result().Trailer.Get(attachment.TrailerSHA256))
			rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
			require.NoError(t, err)
			require.Equal(t, [][]string{broadcast.OutcomesColumns, rows[1]}, rows, "a header and the one recipient")
			require.Equal(t, []string{w.recipient, w.contact}, rows[1][:2])
			require.Equal(t, "SKIPPED", rows[1][4])
			require.Equal(t, "OPTED_OUT", rows[1][5])
			if c.masked {
				require.NotEqual(t, w.contactWaID, rows[1][2])
				require.NotContains(t, rows[1][2], w.contactWaID[:7], "a masked phone stays masked")
			} else {
				require.Equal(t, w.contactWaID, rows[1][2])
			}
			n, err := db.Client.AuditEvent.Query().Where(auditevent.Action(broadcast.ActionOutcomesExported),
				auditevent.SummaryContains("1 recipients"), auditevent.SummaryContains(digest)).Count(systemCtx(t, w))
			require.NoError(t, err)
			require.Equal(t, 1, n, "the export is audited with its rows and hash")
		}
	})
}
