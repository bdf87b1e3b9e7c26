package graph_test

import (
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/report"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestReportCSVObeysFieldRules: a field rule on the report's types (DESIGN
// §3: "Report.*") binds the CSV export as it binds the API: a column the
// role may not read is empty, a masked key is masked, rows of a denied list
// are left out, and a role denied the report gets none.
func TestReportCSVObeysFieldRules(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.DefaultConfig)
		owner := s.Inbox(t, "acme", 2)
		var role struct{ CreateRole struct{ ID string } }
		s.Do(t, owner, `mutation { createRole(input: {name: "analyst", label: "Analyst", permissions: ["report.view_own", "report.view_all", "report.export"]}) { id } }`, nil).Decode(t, &role)
		rule := func(c, e string) {
			s.Do(t, owner, `mutation($r: ID!, $c: String!, $e: FieldEffect!) { setFieldRule(roleID: $r, coordinate: $c, effect: $e) { id } }`,
				map[string]any{"r": role.CreateRole.ID, "c": c, "e": e}).RequireOK(t)
		}
		rule("ReportRow.key", "MASK")
		rule("ReportRow.messagesIn", "DENY")
		rule("ReportDurations.p90", "DENY")
		rule("Report.buckets", "DENY")
		s.Do(t, owner, `mutation { createAgent(input: {name: "Ann", email: "ann@acme.test", password: "long enough pw", roles: ["analyst"]}) { id } }`, nil).RequireOK(t)
		ann := s.Login(t, "ann@acme.test", "long enough pw")

		today := time.Now().UTC().Format(time.DateOnly)
		// The API: the denied fields are refused.
		r := s.Do(t, ann, `query($in: ReportInput!) { report(input: $in) { totals { messagesIn } } }`,
			map[string]any{"in": map[string]any{"from": today, "to": today, "dimension": "AGENT"}})
		r.RequireCode(t, "FORBIDDEN")
		require.Contains(t, r.String(), `"messagesIn"`, "the error names the denied field")
		require.Contains(t, r.String(), `"totals"`, "the rest of the report is there")

		get := func(token string) *httptest.ResponseRecorder {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/export/report?from="+today+"&to="+today+"&dimension=AGENT", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			s.App.Handler().ServeHTTP(rec, req)
			return rec
		}
		rec := get(ann)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		lines, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
		require.NoError(t, err)
		require.Equal(t, report.CSVHeader, lines[0])
		require.Len(t, lines, 1+1, "Report.buckets denied: the total row only")
		col := func(name string) string { return lines[1][slices.Index(report.CSVHeader, name)] }
		require.Equal(t, "total", col("row"))
		require.Empty(t, col("messages_in"), "ReportRow.messagesIn is denied")
		require.Empty(t, col("first_response_p90_s"), "ReportDurations.p90 is denied")
		require.Empty(t, col("response_p90_s"))
		require.Equal(t, "2", col("messages_out"), "what is allowed stays")
		require.NotEmpty(t, col("first_response_p50_s"))
		require.NotEmpty(t, col("key"))
		require.Contains(t, col("key"), "•", "ReportRow.key is masked")

		// A role denied the report itself exports nothing.
		rule("Query.report", "DENY")
		require.Equal(t, http.StatusForbidden, get(ann).Code)
	})
}
