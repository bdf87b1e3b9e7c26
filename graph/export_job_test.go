package graph_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent/auditevent"
	"github.com/switchboard-dev/switchboard/ent/conversationexport"
	"github.com/switchboard-dev/switchboard/export"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestConversationExportJob: an archivist (conversation.export, every
// conversation, phones masked) starts an export job; it runs as them and
// ends DONE with its progress at its total; its signed link downloads the
// file without a token, masked, with the hash the row and the audit record
// name; a tampered link is LINK_INVALID, an expired one LINK_EXPIRED, and
// the sweep then removes the file. The owner sees the job but gets no link;
// an agent without the switch sees no job.
func TestConversationExportJob(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fake := clock.NewFake(time.Now().UTC().Truncate(time.Minute))
		dir := t.TempDir()
		s := graphtest.New(t, db, graph.DefaultConfig,
			graphtest.WithApp(app.WithClock(fake), app.WithJobClock(fake), app.WithWorkers(true)),
			graphtest.WithConfig(func(c *app.Config) { c.ExportDir = dir; c.ExportLinkTTL = 24 * time.Hour }))
		w := seedWorld(t, s, "alpha")
		s.Do(t, w.token, `mutation { createRole(input: {name: "archivist", label: "Archivist",
			permissions: ["conversation.read.all", "conversation.export", "contact.read"]}) { id } }`, nil).RequireOK(t)
		r := s.Do(t, w.token, `mutation { createAgent(input: {name: "Ada", email: "ada@alpha.test", password: "long enough pw", roles: ["archivist"]}) { id } }`, nil)
		r.RequireOK(t)
		var ada struct{ CreateAgent struct{ ID string } }
		r.Decode(t, &ada)
		archivist := s.Login(t, "ada@alpha.test", "long enough pw")
		agent := s.Login(t, "agent@alpha.test", graphtest.Password)

		s.Do(t, agent, `mutation { startConversationExport(format: JSONL) { id } }`, nil).RequireCode(t, "FORBIDDEN")
		s.Do(t, archivist, `mutation { startConversationExport(filter: {statuses: ["LOST"]}, format: JSONL) { id } }`, nil).RequireCode(t, "INVALID_INPUT")
		r = s.Do(t, archivist, `mutation($n: ID!) { startConversationExport(filter: {numberIDs: [$n]}, format: JSONL) { id state } }`,
			map[string]any{"n": w.number})
		r.RequireOK(t)
		var started struct{ StartConversationExport struct{ ID, State string } }
		r.Decode(t, &started)
		id := started.StartConversationExport.ID
		require.Equal(t, "QUEUED", started.StartConversationExport.State)

		type job struct {
			State                  string
			RowsWritten, RowsTotal int
			Sha256, DownloadURL    *string
			ExpiresAt              *time.Time
		}
		read := func(token string) job {
			t.Helper()
			r := s.Do(t, token, `query($id: ID!) { node(id: $id) { ... on ConversationExport { state rowsWritten rowsTotal sha256 downloadURL expiresAt } } }`,
				map[string]any{"id": id})
			r.RequireOK(t)
			var out struct{ Node job }
			r.Decode(t, &out)
			return out.Node
		}
		var done job
		require.Eventually(t, func() bool { done = read(archivist); return done.State == "DONE" }, 30*time.Second, 50*time.Millisecond)
		// The world's conversation: itself, the customer's message and the reply.
		require.Equal(t, 3, done.RowsWritten)
		require.Equal(t, done.RowsTotal, done.RowsWritten)
		require.NotNil(t, done.DownloadURL)
		require.WithinDuration(t, fake.Now().Add(24*time.Hour), *done.ExpiresAt, time.Second)

		// The owner (every conversation, the switch) sees the job, not its link; the agent sees nothing.
		owner := read(w.token)
		require.Equal(t, "DONE", owner.State)
		require.Nil(t, owner.DownloadURL, "the file holds what the requester's field rules let through")
		s.Do(t, agent, `{ conversationExports { totalCount } }`, nil).RequireCode(t, "FORBIDDEN")
		r = s.Do(t, agent, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id})
		require.JSONEq(t, `{"node":null}`, string(r.Data), "%s", r.Body)

		get := func(link string) *httptest.ResponseRecorder {
			t.Helper()
			rec := httptest.NewRecorder()
			s.App.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, link, nil))
			return rec
		}
		codeOf := func(rec *httptest.ResponseRecorder) string {
			var body struct {
				Errors []struct{ Extensions map[string]any }
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
			return body.Errors[0].Extensions["code"].(string)
		}
		rec := get(*done.DownloadURL)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		sum := sha256.Sum256(rec.Body.Bytes())
		require.Equal(t, hex.EncodeToString(sum[:]), *done.Sha256, "the file's hash verifies")
		require.Equal(t, *done.Sha256, rec.Result().Trailer.Get(export.TrailerSHA256))
		body := rec.Body.String()
		require.Contains(t, body, `"type":"conversation"`)
		require.Contains(t, body, "Hello?")
		require.Contains(t, body, `"phone":"`, "the contact's phone is in the file…")
		require.NotContains(t, body, w.contactWaID[:7], "…masked: the archivist may not see phones")

		ev, err := db.Client.AuditEvent.Query().Where(auditevent.Action("conversation.export")).Only(viewer.System(t.Context(), w.tenantID))
		require.NoError(t, err)
		require.Contains(t, ev.Summary, *done.Sha256)
		require.Contains(t, ev.Summary, id)
		require.Contains(t, ev.Summary, "1 conversations and 2 messages")
		require.Equal(t, 1, db.Client.AuditEvent.Query().Where(auditevent.Action(export.ActionJobStarted)).CountX(viewer.System(t.Context(), w.tenantID)))

		// The download, as an auditor finds it: its start and its end, by
		// the archivist (the link is theirs), on the export.
		r = s.Do(t, w.token, `{ auditEvents(where: {actionHasPrefix: "conversation.export_download"}) {
			edges { node { action actorID targetID summary } } } }`, nil)
		r.RequireOK(t)
		var downloads struct {
			AuditEvents struct {
				Edges []struct {
					Node struct{ Action, ActorID, TargetID, Summary string }
				}
			}
		}
		r.Decode(t, &downloads)
		require.Len(t, downloads.AuditEvents.Edges, 2, "%s", r.Body)
		summaries := map[string]string{}
		for _, e := range downloads.AuditEvents.Edges {
			require.Equal(t, ada.CreateAgent.ID, e.Node.ActorID)
			require.Equal(t, id, e.Node.TargetID)
			summaries[e.Node.Action] = e.Node.Summary
		}
		require.Contains(t, summaries, audit.ActionExportDownload)
		require.Contains(t, summaries[audit.ActionExportDownloadEnd], "sent whole: ")
		require.Contains(t, summaries[audit.ActionExportDownloadEnd], *done.Sha256)

		// Tampered links: another signature, a later expiry, another export.
		u, err := url.Parse(*done.DownloadURL)
		require.NoError(t, err)
		for name, tamper := range map[string]func(q url.Values) string{
			"signature": func(q url.Values) string { q.Set("sig", strings.Repeat("0", 64)); return u.Path + "?" + q.Encode() },
			"expiry": func(q url.Values) string {
				q.Set("expires", "99999999999")
				return u.Path + "?" + q.Encode()
			},
			"export": func(q url.Values) string { return export.DownloadPath + w.export + "?" + q.Encode() },
			"tenant": func(q url.Values) string { q.Set("tenant", "ten_other"); return u.Path + "?" + q.Encode() },
		} {
			rec := get(tamper(u.Query()))
			require.Equal(t, http.StatusForbidden, rec.Code, "%s: %s", name, rec.Body)
			require.Equal(t, "LINK_INVALID", codeOf(rec), name)
		}

		// An erasure voids the file (contact.Erase sets its expiry to now):
		// the link, still within its own expiry, is refused.
		sys := viewer.System(t.Context(), w.tenantID)
		db.Client.ConversationExport.UpdateOneID(id).SetExpiresAt(fake.Now()).ExecX(sys)
		rec = get(*done.DownloadURL)
		require.Equal(t, http.StatusGone, rec.Code, rec.Body.String())
		require.Equal(t, "LINK_EXPIRED", codeOf(rec))

		// A day later the link has expired, and the sweep removes the file.
		fake.Advance(24*time.Hour + time.Minute)
		rec = get(*done.DownloadURL)
		require.Equal(t, http.StatusGone, rec.Code, rec.Body.String())
		require.Equal(t, "LINK_EXPIRED", codeOf(rec))
		files, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, files, 1)
		n, err := s.App.Services.Exports.Sweep(t.Context())
		require.NoError(t, err)
		require.Equal(t, 1, n)
		_, err = os.Stat(filepath.Join(dir, files[0].Name()))
		require.True(t, os.IsNotExist(err), "the expired file is removed")
		x, err := db.Client.ConversationExport.Get(viewer.System(t.Context(), w.tenantID), id)
		require.NoError(t, err)
		require.Equal(t, conversationexport.StateEXPIRED, x.State)
		rec = get(*done.DownloadURL)
		require.Equal(t, "LINK_EXPIRED", codeOf(rec))
	})
}
