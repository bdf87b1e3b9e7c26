package main

import (
	"database/sql"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/tenant"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

// TestKilledMidBroadcast kills the server (SIGKILL) in the middle of a
// broadcast and starts it again, on SQLite and on Postgres: every recipient
// ends SENT (or FAILED, or SKIPPED), and the provider accepted exactly one
// send per recipient: sends in flight at the kill are recognised by their
// statuses (callback data), not sent again. It sends to 1,000 recipients;
// BROADCAST_CRASH_RECIPIENTS=10000 runs issue 12's size.
func TestKilledMidBroadcast(t *testing.T) {
	t.Parallel()
	recipients := 1000
	if v := os.Getenv("BROADCAST_CRASH_RECIPIENTS"); v != "" {
		var err error
		recipients, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	bin := filepath.Join(t.TempDir(), "switchboard")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			databaseURL := "sqlite:" + filepath.Join(dir, "switchboard.db")
			if d == dialect.Postgres {
				databaseURL = storetest.EmptySchema(t) // skips without TEST_DATABASE_URL
			}
			killMidBroadcast(t, bin, dir, databaseURL, recipients)
		})
	}
}

func killMidBroadcast(t *testing.T, bin, dir, databaseURL string, recipients int) {
	began := time.Now()
	addr := graphtest.FreeAddr(t)
	s, err := sim.New(sim.Config{
		WebhookURL: "http://" + addr + "/webhooks/whatsapp", AppSecret: simSecret,
		Numbers:      []sim.Number{{PhoneNumberID: simNumberID, Token: simToken, DisplayPhone: "33600000001", Throughput: 1000}},
		StatusDelays: sim.StatusDelays{Sent: 10 * time.Millisecond, Delivered: time.Hour, Read: time.Hour},
		PairInterval: -1, RetryBackoff: 100 * time.Millisecond, Seed: 5,
	})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	simSrv := httptest.NewServer(s)
	t.Cleanup(simSrv.Close)
	_, err = s.AddTemplate(sim.TextTemplate("promo", "en", "MARKETING", "Hi {{1}}", false))
	require.NoError(t, err)

	// Jobs time out and are rescued soon, so that the restart picks the
	// killed dispatch up without a long wait; planning 10,000 recipients on
	// a loaded machine needs longer than 2 s in one job. A dispatch run lasts
	// half the rescue time: at 3 s (a 1.5 s slice) a run on a machine at
	// load 25 overran it, was rescued while alive and retried with growing
	// backoff, and 250 recipients stayed queued past the deadline.
	timeout, rescue := "5s", "10s"
	// Reconcile (how long a send whose outcome the kill lost waits for its
	// statuses before it is sent again) must outlast the restarted server's
	// backlog of status webhooks: two per send, retried by the simulator
	// while the server was down. At 15 s a loaded CI machine ingested them
	// too late on Postgres, and 44 recipients were sent twice.
	if recipients > 1000 {
		timeout, rescue = "60s", "90s"
	}
	env := append(os.Environ(),
		"SWITCHBOARD_ADDR="+addr, "SWITCHBOARD_DATA_DIR="+dir, "SWITCHBOARD_DEMO=false", "SWITCHBOARD_SIMULATOR=false",
		"SWITCHBOARD_LOG_LEVEL=error", "SWITCHBOARD_OWNER_PASSWORD=owner password 1", "DATABASE_URL="+databaseURL, "NATS_URL=",
		"SWITCHBOARD_WHATSAPP_API_URL="+simSrv.URL, "SWITCHBOARD_SIM_URL="+simSrv.URL, "SWITCHBOARD_WHATSAPP_APP_SECRET="+simSecret,
		"SWITCHBOARD_SECRET="+strings.Repeat("s", 40), "SWITCHBOARD_JOB_TIMEOUT="+timeout, "SWITCHBOARD_JOB_RESCUE_AFTER="+rescue, "SWITCHBOARD_BROADCAST_RECONCILE=60s",
	)
	create := exec.CommandContext(t.Context(), bin, "create-tenant", "-name", "Acme", "-slug", "acme",
		"-owner-name", "Olivia", "-owner-email", "olivia@acme.test")
	create.Env = env
	out, err := create.CombinedOutput()
	require.NoError(t, err, "%s", out)
	seedContacts(t, databaseURL, "acme", recipients, "vip")
	start := func() *exec.Cmd {
		cmd := exec.Command(bin)
		cmd.Env = env
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		graphtest.WaitReady(t, "http://"+addr+"/readyz")
		return cmd
	}
	server := start()
	first := server
	t.Cleanup(func() { _ = first.Process.Kill() })
	gql := func(token, query string, vars map[string]any) map[string]any {
		return graphtest.Post(t, "http://"+addr, token, query, vars)
	}
	login := func() string {
		return gql("", `mutation { login(email: "olivia@acme.test", password: "owner password 1") { accessToken } }`, nil)["login"].(map[string]any)["accessToken"].(string)
	}
	token := login()
	num := gql(token, `mutation($p: String!) { linkNumber(input: {phone: "+33600000001", displayName: "Sim", provider: sim, phoneNumberID: $p, wabaID: "`+sim.DefaultWABAID+`", throughput: 1000}) { id } }`,
		map[string]any{"p": simNumberID})["linkNumber"].(map[string]any)["id"].(string)
	gql(token, `mutation($id: ID!, $t: String!) { setNumberCredentials(id: $id, accessToken: $t) { id } }`, map[string]any{"id": num, "t": simToken})
	require.Equal(t, float64(1), gql(token, `mutation { syncTemplates }`, nil)["syncTemplates"])
	tpl := gql(token, `{ messageTemplates { edges { node { id } } } }`, nil)["messageTemplates"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)["id"]

	// Slow answers, so that sends are in flight when the kill comes.
	require.NoError(t, s.SetFaults(sim.Faults{Latency: 40 * time.Millisecond}))
	id := gql(token, `mutation($t: ID!) { createBroadcast(input: {name: "promo", templateID: $t, variables: ["contact.phone"], tagsAll: ["VIP"], sender: SPREAD}) { id } }`,
		map[string]any{"t": tpl})["createBroadcast"].(map[string]any)["id"]
	gql(token, `mutation($id: ID!) { scheduleBroadcast(id: $id) { state } }`, map[string]any{"id": id})
	for deadline := time.Now().Add(time.Minute + time.Duration(recipients)*20*time.Millisecond); len(s.Log()) < recipients/4; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the broadcast does not send: %v", gql(token, `query($id: ID!) { node(id: $id) { ... on Broadcast { state planned skipped } }
				broadcastStats(id: $id) { queued sent failed failedBy { key count } skippedBy { key count } } }`, map[string]any{"id": id}))
		}
	}
	require.NoError(t, server.Process.Signal(syscall.SIGKILL))
	_ = server.Wait()
	sentAtKill := len(s.Log())
	require.Less(t, sentAtKill, recipients, "the kill came in the middle of the broadcast")
	require.NoError(t, s.SetFaults(sim.Faults{}))

	server = start()
	t.Cleanup(func() {
		_ = server.Process.Signal(os.Interrupt)
		_ = server.Wait()
	})
	token = login()
	var stats map[string]any
	for deadline := time.Now().Add(5*time.Minute + time.Duration(recipients)*30*time.Millisecond); ; time.Sleep(200 * time.Millisecond) {
		d := gql(token, `query($id: ID!) { node(id: $id) { ... on Broadcast { state } } broadcastStats(id: $id) { planned queued sent failed skipped } }`,
			map[string]any{"id": id})
		stats = d["broadcastStats"].(map[string]any)
		if d["node"].(map[string]any)["state"] == "DONE" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broadcast is not done after the restart: %v, %d sends accepted; jobs: %v", stats, len(s.Log()), jobsOf(t, databaseURL))
		}
	}

	per := map[string]int{}
	for _, e := range s.Log() {
		per[e.To]++
	}
	twice := 0
	for _, n := range per {
		twice += n - 1
	}
	t.Logf("killed after %d of %d sends; stats after restart %v; %s in all", sentAtKill, recipients, stats, time.Since(began).Round(time.Second))
	require.Equal(t, float64(0), stats["queued"], "every recipient ends in a final state")
	require.Equal(t, float64(recipients), stats["sent"], "none lost")
	require.Len(t, per, recipients)
	require.Zero(t, twice, "none sent twice")
}

// seedContacts writes n contacts of the tenant with slug, tagged tag, into
// the database at url (beside the server, which holds no cache of them).
func seedContacts(t *testing.T, url, slug string, n int, tag string) {
	t.Helper()
	db, err := store.Open(t.Context(), url)
	require.NoError(t, err)
	defer db.Close()
	ten, err := db.Client.Tenant.Query().Where(tenant.Slug(slug)).Only(viewer.Platform(t.Context()))
	require.NoError(t, err)
	ctx := viewer.System(t.Context(), ten.ID)
	for start := 0; start < n; start += 1000 {
		var cs []*ent.ContactCreate
		for i := start; i < min(start+1000, n); i++ {
			cs = append(cs, db.Client.Contact.Create().SetWaID(fmt.Sprintf("3363%07d", i)).
				SetPhone(fmt.Sprintf("+3363%07d", i)).SetTags([]string{tag}))
		}
		require.NoError(t, db.Client.Contact.CreateBulk(cs...).Exec(ctx))
	}
}

// jobsOf lists the River jobs of the database at url: what a stuck test
// shows.
func jobsOf(t *testing.T, url string) []string {
	db, err := store.Open(t.Context(), url)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.SQL.QueryContext(t.Context(), `SELECT kind, state, attempt, errors FROM river_job ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var kind, state string
		var attempt int
		var errs sql.NullString
		require.NoError(t, rows.Scan(&kind, &state, &attempt, &errs))
		out = append(out, fmt.Sprintf("%s %s attempt %d %.300s", kind, state, attempt, errs.String))
	}
	return out
}
