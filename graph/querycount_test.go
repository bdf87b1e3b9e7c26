package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// maxInboxStatements: count, conversations, then one query per edge
// (contacts, agents, numbers, messages), whatever the page size.
const maxInboxStatements = 6

func TestInboxPageCostsAFixedNumberOfStatements(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			var counter storetest.Counter
			db := storetest.Open(t, d, store.WithDriver(counter.Wrap))
			s := graphtest.New(t, db, graph.Config{}, graphtest.Quiet())
			w := seedWorld(t, s, "alpha")

			costs := map[int]int{}
			for _, n := range []int{5, 50} {
				have := countConversations(t, s, w.token)
				graphtest.AddConversations(t, db.Client, w.tenantID, w.number, w.agent, have, n-have)

				counter.Reset()
				r := s.Do(t, w.token, graphtest.InboxQuery, map[string]any{"n": n})
				costs[n] = counter.Count()
				t.Logf("%d conversations: %d statements", n, costs[n])
				r.RequireOK(t)
				require.Equal(t, n, strings.Count(string(r.Data), `"lastMessage":{"id":"msg_`), "every node has its last message")
				require.Equal(t, n, strings.Count(string(r.Data), `"assignee":{"id":"agt_`))
				require.LessOrEqual(t, costs[n], maxInboxStatements, "statements for %d conversations:\n%s", n, strings.Join(counter.Statements(), "\n"))
			}
			require.Equal(t, costs[5], costs[50], "the cost must not grow with the page")
		})
	}
}

func countConversations(t *testing.T, s *graphtest.Server, token string) int {
	t.Helper()
	r := s.Do(t, token, `{ conversations { totalCount } }`, nil)
	r.RequireOK(t)
	var out struct{ Conversations struct{ TotalCount int } }
	r.Decode(t, &out)
	return out.Conversations.TotalCount
}

// A page of messages with what each quotes and what quotes it costs the
// same number of statements whatever its size.
func TestMessageRepliesCostAFixedNumberOfStatements(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			var counter storetest.Counter
			db := storetest.Open(t, d, store.WithDriver(counter.Wrap))
			s := graphtest.New(t, db, graph.Config{}, graphtest.Quiet())
			w := seedWorld(t, s, "alpha")
			graphtest.AddConversations(t, db.Client, w.tenantID, w.number, w.agent, countConversations(t, s, w.token), 50)
			costs := map[int]int{}
			for _, n := range []int{5, 50} {
				counter.Reset()
				r := s.Do(t, w.token, `query($n: Int) { messages(first: $n) { edges { node { id replyTo { id } replies { id } } } } }`, map[string]any{"n": n})
				costs[n] = counter.Count()
				r.RequireOK(t)
				require.Equal(t, n, strings.Count(string(r.Data), `"replies":[`), "every message lists its replies")
			}
			require.Equal(t, costs[5], costs[50], "the cost must not grow with the page")
		})
	}
}

// A page of segments with their filters costs the same whatever its size
// (Segment.preview resolves each filter: it is priced as 50 rows instead).
func TestSegmentListCostsAFixedNumberOfStatements(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			var counter storetest.Counter
			db := storetest.Open(t, d, store.WithDriver(counter.Wrap))
			s := graphtest.New(t, db, graph.Config{}, graphtest.Quiet())
			w := seedWorld(t, s, "alpha")
			for i := range 49 {
				s.Do(t, w.token, `mutation($n: String!) { createSegment(input: {name: $n, filter: {tagsAny: ["vip"]}}) { id } }`,
					map[string]any{"n": fmt.Sprintf("segment %d", i)}).RequireOK(t)
			}
			costs := map[int]int{}
			for _, n := range []int{5, 50} {
				counter.Reset()
				r := s.Do(t, w.token, `query($n: Int) { segments(first: $n) { totalCount edges { node { id name filter { tagsAny numberIDs attributes { key op } } } } } }`, map[string]any{"n": n})
				costs[n] = counter.Count()
				r.RequireOK(t)
				require.Equal(t, n, strings.Count(string(r.Data), `"name":`))
			}
			require.Equal(t, costs[5], costs[50], "the cost must not grow with the page")
		})
	}
}

// TestConversationExportListCostsAFixedNumberOfStatements: a page of export
// jobs, with their links, costs the same for 5 rows as for 50.
func TestConversationExportListCostsAFixedNumberOfStatements(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			var counter storetest.Counter
			db := storetest.Open(t, d, store.WithDriver(counter.Wrap))
			s := graphtest.New(t, db, graph.Config{}, graphtest.Quiet())
			w := seedWorld(t, s, "alpha")
			for i := range 49 {
				require.NoError(t, db.Client.ConversationExport.Create().SetRequesterID(w.owner).SetFormat("CSV").
					SetFilter(schematype.ExportFilter{}).SetFilterText(fmt.Sprint("everything ", i)).Exec(systemCtx(t, w)))
			}
			costs := map[int]int{}
			for _, n := range []int{5, 50} {
				counter.Reset()
				r := s.Do(t, w.token, `query($n: Int) { conversationExports(first: $n) { totalCount edges { node { id state filterText rowsWritten rowsTotal downloadURL } } } }`, map[string]any{"n": n})
				costs[n] = counter.Count()
				r.RequireOK(t)
				require.Equal(t, n, strings.Count(string(r.Data), `"filterText":`))
			}
			require.Equal(t, costs[5], costs[50], "the cost must not grow with the page")
		})
	}
}
