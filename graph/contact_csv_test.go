package graph_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/contact"
	"github.com/switchboard-dev/switchboard/ent/auditevent"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestContactsCSVThroughTheAPI: POST /contacts/import takes a raw or a
// multipart CSV from contact.import holders; GET /contacts/export streams
// the contacts under the caller's field rules (a masked phone stays masked),
// closes with the SHA-256 of what it sent, and reads back as an import;
// both are audited; callers without the switch or a token get nothing.
func TestContactsCSVThroughTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.DefaultConfig)
		w := seedWorld(t, s, "alpha")
		srv := httptest.NewServer(s.App.Handler())
		defer srv.Close()
		s.Do(t, w.token, `mutation { createRole(input: {name: "marketer", label: "Marketer",
			permissions: ["conversation.read.all", "contact.read", "contact.export"]}) { id } }`, nil).RequireOK(t)
		s.Do(t, w.token, `mutation { createAgent(input: {name: "Max", email: "max@alpha.test", password: "long enough pw", roles: ["marketer"]}) { id } }`, nil).RequireOK(t)
		marketer := s.Login(t, "max@alpha.test", "long enough pw")
		agent := s.Login(t, "agent@alpha.test", graphtest.Password)

		do := func(token, method, path, ctype string, body io.Reader) *http.Response {
			req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, body)
			require.NoError(t, err)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			if ctype != "" {
				req.Header.Set("Content-Type", ctype)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			t.Cleanup(func() { resp.Body.Close() })
			return resp
		}
		code := func(resp *http.Response) string {
			var body struct {
				Errors []struct{ Extensions map[string]any }
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			return body.Errors[0].Extensions["code"].(string)
		}
		imported := func(resp *http.Response) contact.ImportResult {
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var res contact.ImportResult
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&res))
			return res
		}
		file := "phone,name,tags,since:time\n+49 151 2345 6789,Lena,VIP,2026-01-02T03:04:05Z\n12,Bad,,\n"

		resp := do("", http.MethodPost, "/contacts/import", "text/csv", strings.NewReader(file))
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Equal(t, "UNAUTHENTICATED", code(resp))
		resp = do(agent, http.MethodPost, "/contacts/import", "text/csv", strings.NewReader(file))
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		require.Equal(t, "FORBIDDEN", code(resp))
		resp = do(w.token, http.MethodPost, "/contacts/import?mode=SOMETIMES", "text/csv", strings.NewReader(file))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Equal(t, "INVALID_INPUT", code(resp))
		resp = do(w.token, http.MethodPost, "/contacts/import", "text/csv", strings.NewReader("mobile\n1\n"))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Equal(t, "INVALID_INPUT", code(resp))

		res := imported(do(w.token, http.MethodPost, "/contacts/import?mode=ALL_OR_NOTHING", "text/csv", strings.NewReader(file)))
		require.False(t, res.Written)
		require.Equal(t, []contact.RefusedRow{{Line: 3, Reason: `phone "12" is not a phone number (country code and 6 to 15 digits)`}}, res.RefusedRows)
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		part, err := mw.CreateFormFile("file", "crm.csv")
		require.NoError(t, err)
		_, err = part.Write([]byte(file))
		require.NoError(t, err)
		require.NoError(t, mw.Close())
		res = imported(do(w.token, http.MethodPost, "/contacts/import", mw.FormDataContentType(), &form))
		require.Equal(t, 1, res.Created)
		require.Equal(t, 1, res.Refused)

		export := func(token string) ([][]string, *http.Response) {
			resp := do(token, http.MethodGet, "/contacts/export", "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			sum := sha256.Sum256(body)
			require.Equal(t, hex.EncodeToString(sum[:]), resp.Trailer.Get(contact.TrailerSHA256), "the trailer is the hash of the file")
			rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
			require.NoError(t, err)
			return rows, resp
		}
		resp = do(agent, http.MethodGet, "/contacts/export", "", nil)
		require.Equal(t, http.StatusForbidden, resp.StatusCode)

		owners, _ := export(w.token)
		require.Equal(t, []string{"id", "phone", "wa_id", "user_id", "username", "name", "tags", "opt_in", "opt_in_source", "opt_in_at", "created_at", "since:time"}, owners[0])
		lena := findRow(t, owners, "Lena")
		require.Equal(t, []string{"+4915123456789", "4915123456789"}, lena[1:3])
		require.Equal(t, "vip", lena[6])
		require.Equal(t, "2026-01-02T03:04:05Z", lena[11])
		camille := findRow(t, owners, "Camille")
		require.Equal(t, "+"+w.contactWaID, camille[1])

		marketers, _ := export(marketer)
		lena = findRow(t, marketers, "Lena")
		require.Equal(t, []string{"+49 •••••••••89", "+49 •••••••••89"}, lena[1:3], "masked for a role without contact.view_phone")
		require.NotContains(t, strings.Join(marketers[1], ","), "2345", "no digit of the middle leaks")

		// The owner's export reads back as an import: every contact found, nothing refused.
		var back bytes.Buffer
		require.NoError(t, csv.NewWriter(&back).WriteAll(owners))
		res = imported(do(w.token, http.MethodPost, "/contacts/import", "text/csv", &back))
		require.Zero(t, res.Refused, "%v", res.RefusedRows)
		require.Zero(t, res.Created)
		require.Equal(t, len(owners)-1, res.Updated)

		actions, err := db.Client.AuditEvent.Query().Where(auditevent.ActionIn(contact.ActionImported, contact.ActionExported)).
			Select(auditevent.FieldAction).Strings(viewer.System(t.Context(), w.tenantID))
		require.NoError(t, err)
		require.Equal(t, 4+2, len(actions), "three imports (with the refused all-or-nothing one) and the round trip, two exports: %v", actions)
	})
}

func findRow(t *testing.T, rows [][]string, name string) []string {
	t.Helper()
	for _, r := range rows[1:] {
		if r[5] == name {
			return r
		}
	}
	t.Fatalf("no row named %s in %v", name, rows)
	return nil
}
