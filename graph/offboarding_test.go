package graph_test

import (
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/apikey"
	"github.com/switchboard-dev/switchboard/ent/assignment"
	"github.com/switchboard-dev/switchboard/ent/auditevent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestOffboardAgent: one mutation takes Sam out. Sam cannot sign in or
// refresh, the API key Sam made stops working, Sam's open conversations go
// by the number's policy (two to the agents with room, one to the queue),
// the resolved one and every message Sam wrote stay, Sam leaves the team,
// and the audit chain ends with the key's revocation and one agent.offboard
// record saying all of it. reinstateAgent lets Sam back in, to the team.
// (Closing live connections on every instance: the "offboard" case of
// TestRevocationOnEveryTransportAndInstance.)
func TestOffboardAgent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		owner := s.Inbox(t, "off", 4) // agent@off.test, employee 103, holds 4 conversations
		c := db.Client
		sam, err := c.Agent.Query().Where(agent.Email("agent@off.test")).Only(viewer.Platform(t.Context()))
		require.NoError(t, err)
		ctx := viewer.System(t.Context(), sam.TenantID)
		num, err := c.Number.Query().Only(ctx)
		require.NoError(t, err)
		require.NoError(t, num.Update().SetRoutingPolicy(schematype.RoutingPolicy{
			Strategies: []schematype.RoutingStrategy{schematype.StrategyLeastLoaded}}).Exec(ctx))
		hash, err := auth.HashPassword(graphtest.Password)
		require.NoError(t, err)
		later := time.Now().Add(time.Hour) // presence leases that outlive the test
		var mates []*ent.Agent
		for _, name := range []string{"ann", "bob"} {
			a, err := c.Agent.Create().SetName(name).SetEmail(name + "@off.test").SetPasswordHash(hash).
				SetPresence(agent.PresenceONLINE).SetOnlineUntil(later).SetMaxConcurrent(1).AddNumberIDs(num.ID).Save(ctx)
			require.NoError(t, err)
			mates = append(mates, a)
		}
		team, err := c.Team.Create().SetName("Sales").AddAgentIDs(sam.ID, mates[0].ID).Save(ctx)
		require.NoError(t, err)
		convs, err := c.Conversation.Query().Where(conversation.AssigneeID(sam.ID)).Order(ent.Asc(conversation.FieldCreatedAt)).All(ctx)
		require.NoError(t, err)
		require.Len(t, convs, 4)
		require.NoError(t, convs[3].Update().SetStatus(conversation.StatusRESOLVED).Exec(ctx))
		wrote, err := c.Message.Query().Where(message.SenderID(sam.ID)).Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 4, wrote)

		var login struct {
			Login struct{ AccessToken, RefreshToken string }
		}
		r := s.Do(t, "", `mutation { login(email: "agent@off.test", password: "`+graphtest.Password+`") { accessToken refreshToken } }`, nil)
		r.RequireOK(t)
		r.Decode(t, &login)
		// A key Sam made (made here by the owner, then credited to Sam: an agent may not make keys).
		r = s.Do(t, owner, `mutation { createAPIKey(input: {name: "sam's script", role: "agent"}) { secret apiKey { id } } }`, nil)
		r.RequireOK(t)
		var key struct {
			CreateAPIKey struct {
				Secret string
				APIKey struct{ ID string }
			}
		}
		r.Decode(t, &key)
		secret := key.CreateAPIKey.Secret
		credit := `UPDATE api_keys SET created_by_id = $1 WHERE id = $2`
		if db.Dialect == dialect.SQLite {
			credit = `UPDATE api_keys SET created_by_id = ?1 WHERE id = ?2`
		}
		_, err = db.SQL.ExecContext(ctx, credit, sam.ID, key.CreateAPIKey.APIKey.ID)
		require.NoError(t, err)
		s.Do(t, secret, `{ viewer { kind } }`, nil).RequireOK(t)

		r = s.Do(t, owner, `mutation($id: ID!) { offboardAgent(id: $id, reassignTo: {policy: true}) {
			agent { id disabledAt } apiKeysRevoked teamsLeft moves { conversationID agentID queued reason } } }`,
			map[string]any{"id": sam.ID})
		r.RequireOK(t)
		var out struct {
			OffboardAgent struct {
				Agent struct {
					ID         string
					DisabledAt *time.Time
				}
				APIKeysRevoked, TeamsLeft []string
				Moves                     []struct {
					ConversationID string
					AgentID        *string
					Queued         bool
					Reason         string
				}
			}
		}
		r.Decode(t, &out)
		res := out.OffboardAgent
		require.NotNil(t, res.Agent.DisabledAt)
		require.Len(t, res.APIKeysRevoked, 1)
		require.Equal(t, []string{team.ID}, res.TeamsLeft)
		require.Len(t, res.Moves, 3, "the three open conversations, not the resolved one")
		got := map[string]bool{}
		queued := 0
		for i, m := range res.Moves {
			require.Equal(t, convs[i].ID, m.ConversationID, "oldest first")
			require.Contains(t, m.Reason, "offboarding of Agent")
			if m.Queued {
				queued++
				continue
			}
			require.NotNil(t, m.AgentID)
			got[*m.AgentID] = true
		}
		require.Equal(t, 1, queued, "two places for three conversations: one waits")
		require.Equal(t, map[string]bool{mates[0].ID: true, mates[1].ID: true}, got, "one each, nobody over capacity")

		// Access is gone: sign-in, refresh, the API key.
		s.Do(t, "", `mutation { login(email: "agent@off.test", password: "`+graphtest.Password+`") { accessToken } }`, nil).
			RequireCode(t, "UNAUTHENTICATED")
		s.Do(t, "", `mutation($r: String!) { refresh(refreshToken: $r) { accessToken } }`, map[string]any{"r": login.Login.RefreshToken}).
			RequireCode(t, "UNAUTHENTICATED")
		s.Do(t, login.Login.AccessToken, `{ viewer { kind } }`, nil).RequireCode(t, "UNAUTHENTICATED")
		s.Do(t, secret, `{ viewer { kind } }`, nil).RequireCode(t, "UNAUTHENTICATED")
		revoked, err := c.APIKey.Query().Where(apikey.CreatedByID(sam.ID), apikey.RevokedAtNotNil()).Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, revoked)

		// The history stays: the resolved conversation, every message.
		open, err := c.Conversation.Query().Where(conversation.AssigneeID(sam.ID), conversation.StatusNEQ(conversation.StatusRESOLVED)).Count(ctx)
		require.NoError(t, err)
		require.Zero(t, open)
		kept, err := c.Conversation.Get(ctx, convs[3].ID)
		require.NoError(t, err)
		require.Equal(t, sam.ID, *kept.AssigneeID)
		n, err := c.Message.Query().Where(message.SenderID(sam.ID)).Count(ctx)
		require.NoError(t, err)
		require.Equal(t, wrote, n)
		inTeams, err := c.Agent.QueryTeams(sam).Count(ctx)
		require.NoError(t, err)
		require.Zero(t, inTeams)
		moved, err := c.Assignment.Query().Where(assignment.CauseEQ(assignment.CauseOFFBOARDING)).Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, moved, "each move is in its conversation's history")

		// One audit trail: the key's revocation, then the offboarding saying everything.
		events, err := c.AuditEvent.Query().Order(ent.Desc(auditevent.FieldSeq)).Limit(2).All(ctx)
		require.NoError(t, err)
		require.Equal(t, "agent.offboard", events[0].Action)
		require.Equal(t, sam.ID, events[0].TargetID)
		for _, part := range []string{"disabled", "1 API key(s) revoked", "3 open conversation(s) reassigned", "2 to an agent, 1 queued", "left 1 team(s)"} {
			require.Contains(t, events[0].Summary, part)
		}
		require.Equal(t, "apikey.revoke", events[1].Action)

		// Reinstated: Sam signs in again and is back in the team; the key stays revoked.
		r = s.Do(t, owner, `mutation($id: ID!) { reinstateAgent(id: $id) { id disabledAt teams { id } } }`, map[string]any{"id": sam.ID})
		r.RequireOK(t)
		require.True(t, strings.Contains(string(r.Data), team.ID), "back in the team: %s", r.Data)
		s.Login(t, "agent@off.test", graphtest.Password)
		s.Do(t, secret, `{ viewer { kind } }`, nil).RequireCode(t, "UNAUTHENTICATED")

		// To an agent: everything open goes to them, whatever their load.
		require.NoError(t, c.Conversation.Update().Where(conversation.IDIn(convs[0].ID, convs[1].ID)).SetAssigneeID(sam.ID).Exec(ctx))
		r = s.Do(t, owner, `mutation($id: ID!, $to: ID!) { offboardAgent(id: $id, reassignTo: {agentID: $to}) { moves { agentID } } }`,
			map[string]any{"id": sam.ID, "to": mates[0].ID})
		r.RequireOK(t)
		require.Equal(t, 2, strings.Count(string(r.Data), mates[0].ID), "%s", r.Data)

		// Bad targets are refused before anything changes.
		for _, to := range []string{`{}`, `{policy: true, agentID: "` + mates[0].ID + `"}`, `{agentID: "` + sam.ID + `"}`} {
			r := s.Do(t, owner, `mutation($id: ID!) { offboardAgent(id: $id, reassignTo: `+to+`) { agent { id } } }`,
				map[string]any{"id": mates[1].ID})
			r.RequireCode(t, "INVALID_INPUT")
		}
		bob, err := c.Agent.Get(ctx, mates[1].ID)
		require.NoError(t, err)
		require.Nil(t, bob.DisabledAt)
	})
}
