package graph_test

import (
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/auditevent"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/report"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestReportThroughTheAPI: report.view_all sees everyone's figures,
// report.view_own only one's own (and not by team), a role with neither
// nothing; the CSV export needs report.export and is audited with its hash.
func TestReportThroughTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.DefaultConfig)
		owner := s.Inbox(t, "acme", 3) // three conversations, each answered by agent@acme.test in 1 s
		ctx := viewer.Platform(t.Context())
		tenantID := s.DB.Client.Agent.Query().Where(agent.Email("agent@acme.test")).OnlyX(ctx).TenantID
		sys := viewer.System(t.Context(), tenantID)
		num := s.DB.Client.Number.Query().FirstX(sys)
		// A colleague's conversation, not answered yet.
		colleague := s.DB.Client.Agent.Create().SetName("Bo").SetEmail("bo@acme.test").SetPasswordHash("x").SaveX(sys)
		graphtest.AddConversations(t, s.DB.Client, tenantID, num.ID, colleague.ID, 100, 1)
		s.Do(t, owner, `mutation { createAgent(input: {name: "Pat", email: "pat@acme.test", password: "long enough pw", roles: ["partner"]}) { id } }`, nil).RequireOK(t)

		today := time.Now().UTC().Format(time.DateOnly) // the tenant's zone is UTC
		const q = `query($in: ReportInput!) { report(input: $in) { timeZone bucket dimension
			totals { key opened messagesIn messagesOut handled firstResponse { count mean p50 p90 } }
			buckets { start end key opened } } }`
		type totals struct {
			Key                             string
			Opened, MessagesIn, MessagesOut int
			Handled                         int
			FirstResponse                   struct {
				Count          int
				Mean, P50, P90 *float64
			}
		}
		run := func(token, dim string) []totals {
			r := s.Do(t, token, q, map[string]any{"in": map[string]any{"from": today, "to": today, "dimension": dim}})
			r.RequireOK(t)
			var out struct{ Report struct{ Totals []totals } }
			r.Decode(t, &out)
			return out.Report.Totals
		}

		all := run(owner, "TENANT")
		require.Len(t, all, 1)
		require.Equal(t, 4, all[0].Opened)
		require.Equal(t, 4, all[0].MessagesIn)
		require.Equal(t, 4, all[0].MessagesOut)
		require.Equal(t, 4, all[0].FirstResponse.Count)
		require.Equal(t, 1.0, *all[0].FirstResponse.P90)
		require.Len(t, run(owner, "AGENT"), 2, "one row per agent")

		// An agent sees their own figures only, whatever the dimension.
		mine := s.Login(t, "agent@acme.test", graphtest.Password)
		own := run(mine, "AGENT")
		require.Len(t, own, 1)
		require.Equal(t, 3, own[0].MessagesIn)
		require.Equal(t, 3, own[0].Handled)
		require.Equal(t, run(mine, "TENANT"), own)
		byNumber := run(mine, "NUMBER")
		require.Len(t, byNumber, 1)
		require.Equal(t, num.ID, byNumber[0].Key)
		require.Equal(t, 3, byNumber[0].MessagesOut)
		s.Do(t, mine, q, map[string]any{"in": map[string]any{"from": today, "to": today, "dimension": "TEAM"}}).RequireCode(t, "FORBIDDEN")

		// A partner (no report switch) sees nothing; bad ranges are refused.
		partner := s.Login(t, "pat@acme.test", "long enough pw")
		r := s.Do(t, partner, q, map[string]any{"in": map[string]any{"from": today, "to": today}})
		r.RequireCode(t, "FORBIDDEN")
		require.Contains(t, string(r.Data), `"report":null`)
		s.Do(t, owner, q, map[string]any{"in": map[string]any{"from": today, "to": "2000-01-01"}}).RequireCode(t, "INVALID_INPUT")
		s.Do(t, owner, q, map[string]any{"in": map[string]any{"from": "2026-01-01", "to": "2026-01-31", "bucket": "HOUR"}}).RequireCode(t, "INVALID_INPUT")

		// CSV: report.export (owner yes, agent no), audited with the hash it sent.
		get := func(token, query string) *httptest.ResponseRecorder {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/export/report?"+query, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			s.App.Handler().ServeHTTP(rec, req)
			return rec
		}
		require.Equal(t, http.StatusForbidden, get(mine, "from="+today+"&to="+today).Code)
		require.Equal(t, http.StatusBadRequest, get(owner, "from=yesterday&to="+today).Code)
		rec := get(owner, "from="+today+"&to="+today+"&dimension=AGENT&businessHours=true")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		lines, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
		require.NoError(t, err)
		require.Equal(t, report.CSVHeader, lines[0])
		require.Len(t, lines, 1+2+2, "a bucket row and a total row per agent")
		digest := rec.Header().Get("X-Report-Sha256")
		require.Len(t, digest, 64)
		events := s.DB.Client.AuditEvent.Query().Where(auditevent.Action(audit.ActionReportExported)).AllX(sys)
		require.Len(t, events, 1)
		require.Contains(t, events[0].Summary, digest)
		require.Contains(t, events[0].Summary, "4 rows")
	})
}

// A number's own first-response target overrides the tenant's: set through
// updateNumber (number.manage, audited as number.update), refused to an
// agent, to another tenant and out of range; the report by number shows
// it, and a first response is judged by it.
func TestNumberFirstResponseTarget(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.DefaultConfig)
		owner := s.Inbox(t, "acme", 1)
		other := s.Inbox(t, "globex", 1)
		ctx := viewer.Platform(t.Context())
		tenantID := s.DB.Client.Agent.Query().Where(agent.Email("agent@acme.test")).OnlyX(ctx).TenantID
		sys := viewer.System(t.Context(), tenantID)
		num := s.DB.Client.Number.Query().FirstX(sys)

		const set = `mutation($id: ID!, $s: Int) { updateNumber(id: $id, input: {firstResponseTargetSeconds: $s}) { id firstResponseTargetSeconds } }`
		var out struct {
			UpdateNumber struct{ FirstResponseTargetSeconds *int }
		}
		s.Do(t, owner, set, map[string]any{"id": num.ID, "s": 30}).Decode(t, &out)
		require.Equal(t, 30, *out.UpdateNumber.FirstResponseTargetSeconds)
		events := s.DB.Client.AuditEvent.Query().Where(auditevent.Action(audit.ActionNumberUpdated), auditevent.TargetID(num.ID)).AllX(sys)
		require.Len(t, events, 1)

		s.Do(t, s.Login(t, "agent@acme.test", graphtest.Password), set, map[string]any{"id": num.ID, "s": 600}).RequireCode(t, "FORBIDDEN")
		s.Do(t, other, set, map[string]any{"id": num.ID, "s": 600}).RequireCode(t, "NOT_FOUND")
		s.Do(t, owner, set, map[string]any{"id": num.ID, "s": 0}).RequireCode(t, "INVALID_INPUT")
		require.Equal(t, 30, *s.DB.Client.Number.GetX(sys, num.ID).FirstResponseTargetSeconds, "unchanged by the refusals")

		// A customer waits 45 s: over the number's 30 s, under the tenant's.
		agentID := s.DB.Client.Agent.Query().Where(agent.Email("agent@acme.test")).OnlyX(ctx).ID
		ct := s.DB.Client.Contact.Create().SetWaID("33799999999").SetPhone("+33799999999").SaveX(sys)
		conv := s.DB.Client.Conversation.Create().SetNumberID(num.ID).SetContactID(ct.ID).SetAssigneeID(agentID).SaveX(sys)
		at := time.Now()
		s.DB.Client.Message.Create().SetConversationID(conv.ID).SetNumberID(num.ID).SetDirection(message.DirectionINBOUND).
			SetStatus(message.StatusRECEIVED).SetBody("Hello?").SetCreatedAt(at).ExecX(sys)
		s.DB.Client.Message.Create().SetConversationID(conv.ID).SetNumberID(num.ID).SetDirection(message.DirectionOUTBOUND).
			SetStatus(message.StatusREAD).SetBody("Hi!").SetSenderID(agentID).SetCreatedAt(at.Add(45 * time.Second)).ExecX(sys)
		today := time.Now().UTC().Format(time.DateOnly)
		var rep struct {
			Report struct {
				FirstResponseTargetSeconds int
				Totals                     []struct {
					Key                        string
					FirstResponseTargetSeconds *int
					FirstResponseBreaches      int
				}
			}
		}
		s.Do(t, owner, `query($in: ReportInput!) { report(input: $in) { firstResponseTargetSeconds totals { key firstResponseTargetSeconds firstResponseBreaches } } }`,
			map[string]any{"in": map[string]any{"from": today, "to": today, "dimension": "NUMBER"}}).Decode(t, &rep)
		require.Len(t, rep.Report.Totals, 1)
		require.Equal(t, num.ID, rep.Report.Totals[0].Key)
		require.Equal(t, 30, *rep.Report.Totals[0].FirstResponseTargetSeconds)
		require.Greater(t, rep.Report.FirstResponseTargetSeconds, 45, "the tenant's target would not count it")
		require.Equal(t, 1, rep.Report.Totals[0].FirstResponseBreaches)
	})
}
