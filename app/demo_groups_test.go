package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// TestDemoGroups is the demo's two seeded groups, as the simulator makes
// them, after a restart: the first instance queues their creation and stops
// before any job runs, the second queues it again and works the jobs; each
// platform group becomes exactly one simulator group. Project Atlas, on the
// number whose simulated groups behave like the phone app's, has 35
// members, admins-only posting and replies to announcements; Parents of 5B,
// a Cloud API group, gets 3 join requests that one of its 3 admins decides.
func TestDemoGroups(t *testing.T) {
	t.Parallel()
	for name, url := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "demo.db") },
		"postgres": func(t *testing.T) string { return storetest.EmptySchema(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dbURL := url(t)
			quiet := app.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
			config := func() app.Config {
				env := map[string]string{
					"DATABASE_URL": dbURL, "SWITCHBOARD_SECRET": strings.Repeat("d", 40), "SWITCHBOARD_DEMO": "true",
					"SWITCHBOARD_ADDR": graphtest.FreeAddr(t), "SWITCHBOARD_JOB_POLL_INTERVAL": "50ms", "NATS_URL": "",
				}
				cfg, err := app.LoadConfig(func(k string) string { return env[k] })
				require.NoError(t, err)
				return cfg
			}
			run := func(a *app.App) (stop func()) {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- a.Run(ctx) }()
				graphtest.WaitReady(t, "http://"+a.Config.Addr+"/readyz")
				var once bool
				stop = func() {
					if !once {
						once = true
						cancel()
						<-done
						_ = a.Close()
					}
				}
				t.Cleanup(stop)
				return stop
			}

			// The first run queues the creations; no job runs before it stops.
			first, err := app.New(t.Context(), config(), quiet, app.WithWorkers(false))
			require.NoError(t, err)
			run(first)()

			a, err := app.New(t.Context(), config(), quiet)
			require.NoError(t, err)
			run(a)
			base := "http://" + a.Config.Addr
			login := func(who string) string {
				d := graphtest.Post(t, base, "", `mutation { login(email: "`+who+`@demo.switchboard.local", password: "`+demo.OwnerPassword+`") { accessToken } }`, nil)
				return d["login"].(map[string]any)["accessToken"].(string)
			}
			owner, adam, sofia, chen := login("owner"), login("admin"), login("supervisor"), login("chen")
			type groupInfo struct {
				ID, Subject, State, SendMessages string
				MembersReplyToAdminsOnly         bool
				JoinApproval                     bool
				ProviderGroupID                  *string
				Admins                           []struct{ Email string }
				Number                           struct {
					PhoneNumberID     string
					GroupCapabilities struct {
						Transport       string
						MaxParticipants int
					}
				}
				Members      struct{ TotalCount int }
				JoinRequests struct {
					Edges []struct{ Node struct{ ID, Status string } }
				}
			}
			groups := func() map[string]groupInfo {
				d := graphtest.Post(t, base, owner, `{ groups(first: 10) { edges { node { id subject state sendMessages membersReplyToAdminsOnly joinApproval
					providerGroupID admins { email } number { phoneNumberID groupCapabilities { transport maxParticipants } }
					members { totalCount } joinRequests(first: 10) { edges { node { id status } } } } } } }`, nil)
				b, err := json.Marshal(d["groups"])
				require.NoError(t, err)
				var out struct {
					Edges []struct{ Node groupInfo }
				}
				require.NoError(t, json.Unmarshal(b, &out))
				m := map[string]groupInfo{}
				for _, e := range out.Edges {
					m[e.Node.Subject] = e.Node
				}
				return m
			}
			var gs map[string]groupInfo
			require.Eventually(t, func() bool {
				gs = groups()
				p, q := gs[demo.ProjectGroup], gs[demo.ParentsGroup]
				return p.State == "ACTIVE" && p.Members.TotalCount == app.DemoProjectMembers &&
					q.State == "ACTIVE" && len(q.JoinRequests.Edges) == 3
			}, 60*time.Second, 200*time.Millisecond, "the demo groups never filled: %v", gs)

			// One provider group per platform group, despite the creation queued twice.
			project, parents := gs[demo.ProjectGroup], gs[demo.ParentsGroup]
			simulator := a.Simulator()
			require.Len(t, simulator.Groups(project.Number.PhoneNumberID), 1)
			require.Len(t, simulator.Groups(parents.Number.PhoneNumberID), 1)
			sg, err := simulator.Group(*project.ProviderGroupID)
			require.NoError(t, err)
			require.Len(t, sg.Participants, app.DemoProjectMembers)

			// Project Atlas: 35 members on the phone-app-like transport, announcements only.
			require.Equal(t, "APP", project.Number.GroupCapabilities.Transport)
			require.GreaterOrEqual(t, project.Number.GroupCapabilities.MaxParticipants, app.DemoProjectMembers)
			require.Equal(t, "ADMINS", project.SendMessages)
			require.True(t, project.MembersReplyToAdminsOnly)
			require.ElementsMatch(t, []string{"admin@demo.switchboard.local", "supervisor@demo.switchboard.local"},
				[]string{project.Admins[0].Email, project.Admins[1].Email})
			var conv string
			require.Eventually(t, func() bool { // a member writes, the group's conversation opens
				_, err := simulator.WriteIn(project.Number.PhoneNumberID, sg.Participants[0], whatsappText("When do we open?", sg.ID))
				require.NoError(t, err)
				d := graphtest.Post(t, base, owner, `query($g: ID!) { conversations(where: {hasGroupWith: {id: $g}}) { edges { node { id } } } }`,
					map[string]any{"g": project.ID})
				edges := d["conversations"].(map[string]any)["edges"].([]any)
				if len(edges) == 1 {
					conv = edges[0].(map[string]any)["node"].(map[string]any)["id"].(string)
				}
				return conv != ""
			}, 20*time.Second, 500*time.Millisecond)
			post := func(token, text string, replyTo any) map[string]any {
				return postRaw(t, base, token, `mutation($c: ID!, $t: String!, $r: ID) { sendMessage(input: {conversationID: $c, text: $t, replyToID: $r}) { id } }`,
					map[string]any{"c": conv, "t": text, "r": replyTo})
			}
			require.Equal(t, "FORBIDDEN", errorCode(post(owner, "Hello team", nil)), "the owner is not one of its admins")
			ann := post(adam, "We open on Monday at 9", nil)
			require.Empty(t, ann["errors"])
			annID := ann["data"].(map[string]any)["sendMessage"].(map[string]any)["id"]
			require.Empty(t, post(owner, "Great news!", annID)["errors"], "a reply to an admin's announcement")

			// Parents of 5B: a Cloud API group whose joins wait for one of its 3 admins.
			require.Equal(t, "CLOUD_API", parents.Number.GroupCapabilities.Transport)
			require.True(t, parents.JoinApproval)
			require.Len(t, parents.Admins, 3)
			reqs := parents.JoinRequests.Edges
			decide := func(token, id string) map[string]any {
				return postRaw(t, base, token, `mutation($ids: [ID!]!) { approveGroupJoinRequests(ids: $ids) { status decidedBy { name } } }`,
					map[string]any{"ids": []string{id}})
			}
			require.Equal(t, "FORBIDDEN", errorCode(decide(chen, reqs[0].Node.ID)), "an agent without group.manage_members")
			d := decide(sofia, reqs[0].Node.ID)
			require.Empty(t, d["errors"])
			require.Contains(t, mustMarshal(t, d["data"]), `"decidedBy":{"name":"Sofia Supervisor"}`)
			require.Eventually(t, func() bool { return groups()[demo.ParentsGroup].Members.TotalCount == 1 },
				20*time.Second, 200*time.Millisecond, "the approved parent joins")
		})
	}
}

// postRaw runs query against the server at base and returns the whole
// answer, errors included.
func postRaw(t *testing.T, base, token, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return out
}

// errorCode is the code of an answer's first error, "" without one.
func errorCode(answer map[string]any) string {
	errs, _ := answer["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
	code, _ := ext["code"].(string)
	return code
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// whatsappText is a member's text message in group groupID.
func whatsappText(text, groupID string) whatsapp.Message {
	return whatsapp.Message{Type: "text", Text: text, GroupID: groupID}
}
