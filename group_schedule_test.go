package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	entgroup "github.com/switchboard-dev/switchboard/ent/group"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/group"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// TestScheduledGroupSettings is "during exam week only admins post, then
// back", with a moved clock: the window is given in the tenant's time zone,
// its jobs survive a restart of the server, a non-admin agent's post is
// refused during the window and accepted after it, a cancelled schedule
// never applies, and every step is audited.
func TestScheduledGroupSettings(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			db := storetest.Open(t, d)
			fake := clock.NewFake(time.Now().UTC().Truncate(time.Minute))
			serve := func() *graphtest.Server {
				return graphtest.New(t, db, graph.Config{},
					graphtest.WithApp(app.WithClock(fake), app.WithJobClock(fake), app.WithWorkers(true)),
					graphtest.WithConfig(func(c *app.Config) { c.JobPollInterval = 50 * time.Millisecond }))
			}
			s := serve()
			tenantID, owner := s.Tenant(t, "acme")
			ctx := viewer.System(t.Context(), tenantID)
			require.NoError(t, db.Client.Tenant.UpdateOneID(tenantID).SetTimezone("Europe/Paris").Exec(ctx))
			paris, err := time.LoadLocation("Europe/Paris")
			require.NoError(t, err)
			g, conv := activeGroup(t, db, ctx)
			ownerID := agentID(t, s, owner)
			require.NoError(t, db.Client.Group.UpdateOneID(g.ID).AddAdminIDs(ownerID).Exec(ctx))
			_, sam := newAgent(t, s, owner, "Sam", "supervisor") // holds group.manage_members, not an admin

			post := func(token, text string) graphtest.Response {
				return s.Do(t, token, `mutation($c: ID!, $t: String!) { sendMessage(input: {conversationID: $c, text: $t}) { id } }`,
					map[string]any{"c": conv, "t": text})
			}
			post(sam, "Anyone for the study group?").RequireOK(t)

			local := func(d time.Duration) string { return fake.Now().Add(d).In(paris).Format(group.LocalLayout) }
			schedule := func(token, start, end string) graphtest.Response {
				return s.Do(t, token, `mutation($g: ID!, $s: String!, $e: String!) { scheduleGroupSettings(input: {groupID: $g, label: "Exam week",
					start: $s, end: $e, sendMessages: ADMINS}) { id state startLocal endLocal timezone startsAt } }`,
					map[string]any{"g": g.ID, "s": start, "e": end})
			}
			schedule(sam, local(time.Hour), local(3*time.Hour)).RequireCode(t, "FORBIDDEN") // settings are the admins'
			schedule(owner, local(3*time.Hour), local(time.Hour)).RequireCode(t, "INVALID_INPUT")
			schedule(owner, "next monday", local(time.Hour)).RequireCode(t, "INVALID_INPUT")
			r := schedule(owner, local(time.Hour), local(3*time.Hour))
			r.RequireOK(t)
			var exam struct {
				ScheduleGroupSettings struct{ ID, State, StartLocal, EndLocal, Timezone, StartsAt string }
			}
			r.Decode(t, &exam)
			sc := exam.ScheduleGroupSettings
			require.Equal(t, "SCHEDULED", sc.State)
			require.Equal(t, local(time.Hour), sc.StartLocal, "shown as given, in the tenant's time")
			require.Equal(t, "Europe/Paris", sc.Timezone)
			startsAt, err := time.Parse(time.RFC3339, sc.StartsAt)
			require.NoError(t, err)
			require.True(t, startsAt.Equal(fake.Now().Add(time.Hour)), "the local time is read in Europe/Paris: %s", sc.StartsAt)
			schedule(owner, local(2*time.Hour), local(4*time.Hour)).RequireCode(t, "CONFLICT") // overlaps

			// Another window, cancelled before it starts: it never applies.
			r = s.Do(t, owner, `mutation($g: ID!, $s: String!, $e: String!) { scheduleGroupSettings(input: {groupID: $g, start: $s, end: $e,
				sendMessages: ADMINS, editInfo: ALL}) { id } }`, map[string]any{"g": g.ID, "s": local(4 * time.Hour), "e": local(5 * time.Hour)})
			r.RequireOK(t)
			var later struct{ ScheduleGroupSettings struct{ ID string } }
			r.Decode(t, &later)
			cancelled := later.ScheduleGroupSettings.ID
			s.Do(t, sam, `mutation($id: ID!) { cancelGroupSchedule(id: $id) { id } }`, map[string]any{"id": cancelled}).RequireCode(t, "FORBIDDEN")
			r = s.Do(t, owner, `mutation($id: ID!) { cancelGroupSchedule(id: $id) { state outcome cancelledBy { id } } }`, map[string]any{"id": cancelled})
			r.RequireOK(t)
			require.JSONEq(t, `{"cancelGroupSchedule":{"state":"CANCELLED","outcome":"cancelled before it started: nothing changed","cancelledBy":{"id":"`+ownerID+`"}}}`, string(r.Data))

			// The server restarts: the schedule's jobs are in the database.
			require.NoError(t, s.App.Close())
			s = serve()

			settings := func() (string, []map[string]any) {
				t.Helper()
				r := s.Do(t, owner, `query($g: ID!) { node(id: $g) { ... on Group { sendMessages editInfo schedules { id state appliedAt outcome } } } }`,
					map[string]any{"g": g.ID})
				r.RequireOK(t)
				var out struct {
					Node struct {
						SendMessages string
						Schedules    []map[string]any
					}
				}
				r.Decode(t, &out)
				return out.Node.SendMessages, out.Node.Schedules
			}
			waitState := func(id, state string) {
				t.Helper()
				require.Eventually(t, func() bool {
					_, scs := settings()
					for _, sc := range scs {
						if sc["id"] == id {
							return sc["state"] == state
						}
					}
					return false
				}, 30*time.Second, 100*time.Millisecond, "schedule %s never %s", id, state)
			}

			fake.Advance(time.Hour + time.Minute) // exam week starts
			owner = s.Login(t, "owner@acme.test", graphtest.Password)
			sam = s.Login(t, "sam@acme.test", graphtest.Password)
			waitState(sc.ID, "ACTIVE")
			mode, _ := settings()
			require.Equal(t, "ADMINS", mode)
			before := countMessages(t, db, ctx, conv)
			post(sam, "Can someone share the notes?").RequireCode(t, "FORBIDDEN")
			require.Equal(t, before, countMessages(t, db, ctx, conv), "nothing stored")
			post(owner, "Exam week: announcements only").RequireOK(t)

			fake.Advance(2 * time.Hour) // and it ends
			owner = s.Login(t, "owner@acme.test", graphtest.Password)
			sam = s.Login(t, "sam@acme.test", graphtest.Password)
			waitState(sc.ID, "DONE")
			mode, scs := settings()
			require.Equal(t, "ALL", mode, "back to what it was")
			for _, x := range scs {
				if x["id"] == sc.ID {
					require.Equal(t, "restored sendMessages ALL", x["outcome"])
				}
			}
			post(sam, "Done! Who is up for a drink?").RequireOK(t)

			// Past the cancelled window: its jobs ran and found it cancelled.
			fake.Advance(3 * time.Hour)
			require.Eventually(t, func() bool {
				jobs, err := s.App.Jobs.River().JobList(t.Context(), river.NewJobListParams().Kinds("group.schedule").First(100))
				require.NoError(t, err)
				done := 0
				for _, j := range jobs.Jobs {
					var a group.ScheduleArgs
					require.NoError(t, json.Unmarshal(j.EncodedArgs, &a))
					if a.ScheduleID == cancelled && j.FinalizedAt != nil {
						done++
					}
				}
				return done == 2
			}, 30*time.Second, 100*time.Millisecond)
			owner = s.Login(t, "owner@acme.test", graphtest.Password)
			mode, _ = settings()
			require.Equal(t, "ALL", mode)
			waitState(cancelled, "CANCELLED")
			got, err := db.Client.Group.Get(ctx, g.ID)
			require.NoError(t, err)
			require.Equal(t, schematype.AudienceAdmins, got.EditInfo, "the cancelled window's editInfo never applied")

			r = s.Do(t, owner, `{ verifyAuditChain { ok } auditEvents(first: 100) { edges { node { action actorID } } } }`, nil)
			r.RequireOK(t)
			for _, a := range []string{`"group.schedule"`, `"group.schedule_cancel"`, `"group.schedule_apply"`, `"group.schedule_end"`} {
				require.Contains(t, string(r.Data), a)
			}
			require.Contains(t, string(r.Data), `"verifyAuditChain":{"ok":true}`)
		})
	}
}

// activeGroup is a Cloud API group already confirmed by the provider, with
// its conversation.
func activeGroup(t *testing.T, db *store.DB, ctx context.Context) (*ent.Group, string) {
	t.Helper()
	num, err := db.Client.Number.Create().SetPhone("+33600000009").SetDisplayName("Campus").Save(ctx)
	require.NoError(t, err)
	g, err := db.Client.Group.Create().SetNumberID(num.ID).SetSubject("Study group").SetProviderGroupID("grp-study").
		SetState(entgroup.StateACTIVE).SetMemberLimit(8).Save(ctx)
	require.NoError(t, err)
	var conv *ent.Conversation
	err = store.WithTx(ctx, db.Client, func(ctx context.Context, tx *ent.Tx) error {
		conv, _, err = connector.GroupConversation(ctx, tx, g)
		return err
	})
	require.NoError(t, err)
	return g, conv.ID
}

func agentID(t *testing.T, s *graphtest.Server, token string) string {
	t.Helper()
	r := s.Do(t, token, `{ viewer { agent { id } } }`, nil)
	r.RequireOK(t)
	var out struct {
		Viewer struct{ Agent struct{ ID string } }
	}
	r.Decode(t, &out)
	return out.Viewer.Agent.ID
}

func newAgent(t *testing.T, s *graphtest.Server, owner, name, role string) (id, token string) {
	t.Helper()
	email := strings.ToLower(name) + "@acme.test"
	r := s.Do(t, owner, `mutation($n: String!, $e: String!, $p: String!, $r: [String!]) { createAgent(input: {name: $n, email: $e, password: $p, roles: $r}) { id } }`,
		map[string]any{"n": name, "e": email, "p": graphtest.Password, "r": []string{role}})
	r.RequireOK(t)
	var out struct{ CreateAgent struct{ ID string } }
	r.Decode(t, &out)
	return out.CreateAgent.ID, s.Login(t, email, graphtest.Password)
}

func countMessages(t *testing.T, db *store.DB, ctx context.Context, conv string) int {
	t.Helper()
	n, err := db.Client.Conversation.GetX(ctx, conv).QueryMessages().Count(ctx)
	require.NoError(t, err)
	return n
}
