package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

// TestKilledMidBroadcast kills the server (SIGKILL) in the middle of a
// broadcast and starts it again: every recipient ends SENT (or FAILED, or
// SKIPPED), and the provider accepted exactly one send per recipient: sends
// in flight at the kill are recognised by their statuses (callback data),
// not sent again.
func TestKilledMidBroadcast(t *testing.T) {
	t.Parallel()
	const recipients = 400
	dir := t.TempDir()
	bin := filepath.Join(dir, "switchboard")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

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

	env := append(os.Environ(),
		"SWITCHBOARD_ADDR="+addr, "SWITCHBOARD_DATA_DIR="+dir, "SWITCHBOARD_DEMO=false", "SWITCHBOARD_SIMULATOR=false",
		"SWITCHBOARD_LOG_LEVEL=error", "SWITCHBOARD_OWNER_PASSWORD=owner password 1", "DATABASE_URL=", "NATS_URL=",
		"SWITCHBOARD_WHATSAPP_API_URL="+simSrv.URL, "SWITCHBOARD_SIM_URL="+simSrv.URL, "SWITCHBOARD_WHATSAPP_APP_SECRET="+simSecret,
		"SWITCHBOARD_JOB_TIMEOUT=2s", "SWITCHBOARD_JOB_RESCUE_AFTER=3s", "SWITCHBOARD_BROADCAST_RECONCILE=5s",
	)
	create := exec.CommandContext(t.Context(), bin, "create-tenant", "-name", "Acme", "-slug", "acme",
		"-owner-name", "Olivia", "-owner-email", "olivia@acme.test")
	create.Env = env
	out, err := create.CombinedOutput()
	require.NoError(t, err, "%s", out)
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
	for i := range recipients {
		_, err := s.WriteIn(simNumberID, fmt.Sprintf("3363%07d", i), whatsapp.Message{Type: "text", Text: "hello"})
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		d := gql(token, `{ contacts(first: 1) { totalCount } }`, nil)
		return d["contacts"].(map[string]any)["totalCount"].(float64) == recipients
	}, 2*time.Minute, 100*time.Millisecond)
	for after := ""; ; {
		d := gql(token, `query($a: Cursor) { contacts(first: 100, after: $a) { pageInfo { hasNextPage endCursor } edges { node { id } } } }`,
			map[string]any{"a": nilIfEmpty(after)})["contacts"].(map[string]any)
		for _, e := range d["edges"].([]any) {
			gql(token, `mutation($id: ID!) { tagContact(id: $id, add: ["vip"]) { id } }`, map[string]any{"id": e.(map[string]any)["node"].(map[string]any)["id"]})
		}
		page := d["pageInfo"].(map[string]any)
		if !page["hasNextPage"].(bool) {
			break
		}
		after = page["endCursor"].(string)
	}
	require.Equal(t, float64(1), gql(token, `mutation { syncTemplates }`, nil)["syncTemplates"])
	tpl := gql(token, `{ messageTemplates { edges { node { id } } } }`, nil)["messageTemplates"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)["id"]

	// Slow answers, so that sends are in flight when the kill comes.
	require.NoError(t, s.SetFaults(sim.Faults{Latency: 40 * time.Millisecond}))
	id := gql(token, `mutation($t: ID!) { createBroadcast(input: {name: "promo", templateID: $t, variables: ["contact.phone"], tagsAll: ["VIP"]}) { id } }`,
		map[string]any{"t": tpl})["createBroadcast"].(map[string]any)["id"]
	gql(token, `mutation($id: ID!) { scheduleBroadcast(id: $id) { state } }`, map[string]any{"id": id})
	for deadline := time.Now().Add(time.Minute); len(s.Log()) < recipients/4; time.Sleep(5 * time.Millisecond) {
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
	require.Eventually(t, func() bool {
		d := gql(token, `query($id: ID!) { node(id: $id) { ... on Broadcast { state } } broadcastStats(id: $id) { planned queued sent failed skipped } }`,
			map[string]any{"id": id})
		stats = d["broadcastStats"].(map[string]any)
		return d["node"].(map[string]any)["state"] == "DONE"
	}, 3*time.Minute, 200*time.Millisecond)

	per := map[string]int{}
	for _, e := range s.Log() {
		per[e.To]++
	}
	twice := 0
	for _, n := range per {
		twice += n - 1
	}
	t.Logf("killed after %d of %d sends; stats after restart %v", sentAtKill, recipients, stats)
	require.Equal(t, float64(0), stats["queued"], "every recipient ends in a final state")
	require.Equal(t, float64(recipients), stats["sent"], "none lost")
	require.Len(t, per, recipients)
	require.Zero(t, twice, "none sent twice")
}
