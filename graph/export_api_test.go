package graph_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/export"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestExportThroughTheAPI: GET /export/conversations streams what the
// caller may read (masked phone, tombstoned deleted text), closes with the
// SHA-256 of what it sent, and the audit record names it; callers without
// conversation.export, or without a token, get nothing.
func TestExportThroughTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.DefaultConfig)
		w := seedWorld(t, s, "alpha")
		srv := httptest.NewServer(s.App.Handler())
		defer srv.Close()

		// An archivist exports, and may not see phones or deleted text.
		s.Do(t, w.token, `mutation { createRole(input: {name: "archivist", label: "Archivist",
			permissions: ["conversation.read.all", "conversation.export", "contact.read"]}) { id } }`, nil).RequireOK(t)
		s.Do(t, w.token, `mutation { createAgent(input: {name: "Ada", email: "ada@alpha.test", password: "long enough pw", roles: ["archivist"]}) { id } }`, nil).RequireOK(t)
		archivist := s.Login(t, "ada@alpha.test", "long enough pw")
		s.Do(t, w.token, `mutation($m: ID!) { deleteMessage(id: $m) { id } }`, map[string]any{"m": w.inbound}).RequireOK(t)

		get := func(token, query string) *http.Response {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/export/conversations?"+query, nil)
			require.NoError(t, err)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
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
		resp := get("", "")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		agent := s.Login(t, "agent@alpha.test", graphtest.Password)
		resp = get(agent, "")
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		require.Equal(t, "FORBIDDEN", code(resp))
		resp = get(archivist, "from=yesterday")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Equal(t, "INVALID_INPUT", code(resp))

		resp = get(archivist, "format=jsonl&status=OPEN&number="+w.number)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		sum := sha256.Sum256(body)
		require.Equal(t, hex.EncodeToString(sum[:]), resp.Trailer.Get(export.TrailerSHA256), "the trailer is the hash of the file")
		var lines []map[string]any
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			var l map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
			lines = append(lines, l)
		}
		require.Len(t, lines, 3, "%s", body)
		conv := lines[0]["conversation"].(map[string]any)
		require.Equal(t, w.conversation, conv["id"])
		phone := conv["contact"].(map[string]any)["phone"].(string)
		require.NotContains(t, phone, "612000111", "masked for a role without contact.view_phone")
		require.NotContains(t, string(body), "Hello?", "a deleted message is a tombstone without message.view_deleted")
		require.Contains(t, string(body), "How can I help", "the reply is exported")

		r := s.Do(t, w.token, `{ auditEvents(where: {action: "conversation.export"}) { edges { node { actorID summary } } } }`, nil)
		r.RequireOK(t)
		require.Contains(t, string(r.Data), hex.EncodeToString(sum[:]), "the audit record names the file")
		require.Contains(t, string(r.Data), "1 conversations and 2 messages")

		// CSV: a zip of the conversations and the transcript.
		resp = get(archivist, "format=csv")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "application/zip", resp.Header.Get("Content-Type"))
		zipped, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
		require.NoError(t, err)
		rows := map[string][][]string{}
		for _, f := range zr.File {
			rc, err := f.Open()
			require.NoError(t, err)
			rows[f.Name], err = csv.NewReader(rc).ReadAll()
			require.NoError(t, err)
			rc.Close()
		}
		require.Len(t, rows["conversations.csv"], 2)
		require.Len(t, rows["messages.csv"], 3)
		for _, row := range append(rows["conversations.csv"], rows["messages.csv"]...) {
			for _, cell := range row {
				require.NotContains(t, cell, "612000111")
				require.NotContains(t, cell, "Hello?")
			}
		}
	})
}
