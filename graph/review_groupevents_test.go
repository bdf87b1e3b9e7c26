package graph_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestGroupEventsNeedGroupView: the live list of a group's events follows
// the switch of the group it reports on, as numberStatusChanged follows
// number.view: a role without group.view is refused the subscription
// instead of being told when the group changes.
func TestGroupEventsNeedGroupView(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		owner := s.Inbox(t, "gev", 1)
		tenantID := db.Client.Agent.Query().Where(agent.Email("agent@gev.test")).OnlyX(viewer.Platform(t.Context())).TenantID
		ctx := viewer.System(t.Context(), tenantID)
		num := db.Client.Number.Query().OnlyX(ctx)
		g := db.Client.Group.Create().SetNumberID(num.ID).SetSubject("Trip").SaveX(ctx)
		s.Do(t, owner, `mutation { createRole(input: {name: "reader", label: "Reader", permissions: ["conversation.read.all", "number.view"]}) { id } }`, nil).RequireOK(t)
		s.Do(t, owner, `mutation { createAgent(input: {name: "Rex", email: "rex@gev.test", password: "long enough pw", roles: ["reader"]}) { id } }`, nil).RequireOK(t)
		rex := s.Login(t, "rex@gev.test", "long enough pw")

		// An admitted subscription waits for events: the deadline ends it.
		rctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		req := httptest.NewRequestWithContext(rctx, http.MethodPost, "/graphql",
			strings.NewReader(`{"query": "subscription { groupEvents(groupID: \"`+g.ID+`\") { kind at } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Authorization", "Bearer "+rex)
		rec := httptest.NewRecorder()
		s.Handler.ServeHTTP(rec, req)
		require.Contains(t, rec.Body.String(), "FORBIDDEN", rec.Body.String())
	})
}
