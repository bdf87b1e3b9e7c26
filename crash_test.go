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

// TestKilledWhileSending kills the server (SIGKILL) in the middle of sending
// 1,000 replies and starts it again: none is lost, and the only duplicates
// the provider sees are of sends in flight at the kill (the Cloud API has no
// idempotency key), at most as many as the send workers.
func TestKilledWhileSending(t *testing.T) {
	t.Parallel()
	const (
		replies     = 1000
		sendWorkers = 8
	)
	dir := t.TempDir()
	bin := filepath.Join(dir, "switchboard")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	addr := graphtest.FreeAddr(t)
	s, err := sim.New(sim.Config{
		WebhookURL: "http://" + addr + "/webhooks/whatsapp", AppSecret: simSecret,
		Numbers:      []sim.Number{{PhoneNumberID: simNumberID, Token: simToken, DisplayPhone: "33600000001", Throughput: 1000}},
		StatusDelays: sim.StatusDelays{Sent: time.Hour}, // statuses are not what this test is about
		PairInterval: -1, RetryBackoff: 100 * time.Millisecond, Seed: 3,
	})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	simSrv := httptest.NewServer(s)
	t.Cleanup(simSrv.Close)

	env := append(os.Environ(),
		"SWITCHBOARD_ADDR="+addr, "SWITCHBOARD_DATA_DIR="+dir, "SWITCHBOARD_DEMO=false", "SWITCHBOARD_SIMULATOR=false",
		"SWITCHBOARD_LOG_LEVEL=error", "SWITCHBOARD_OWNER_PASSWORD=owner password 1", "DATABASE_URL=", "NATS_URL=",
		"SWITCHBOARD_WHATSAPP_API_URL="+simSrv.URL, "SWITCHBOARD_SIM_URL="+simSrv.URL, "SWITCHBOARD_WHATSAPP_APP_SECRET="+simSecret,
		"SWITCHBOARD_JOB_TIMEOUT=2s", "SWITCHBOARD_JOB_RESCUE_AFTER=3s", fmt.Sprintf("SWITCHBOARD_SEND_WORKERS=%d", sendWorkers),
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

	gql := func(token, query string, vars map[string]any) map[string]any {
		return graphtest.Post(t, "http://"+addr, token, query, vars)
	}
	login := gql("", `mutation { login(email: "olivia@acme.test", password: "owner password 1") { accessToken } }`, nil)
	token := login["login"].(map[string]any)["accessToken"].(string)
	num := gql(token, `mutation($p: String!) { linkNumber(input: {phone: "+33600000001", displayName: "Sim", provider: sim, phoneNumberID: $p, throughput: 1000}) { id } }`,
		map[string]any{"p": simNumberID})["linkNumber"].(map[string]any)["id"].(string)
	gql(token, `mutation($id: ID!, $t: String!) { setNumberCredentials(id: $id, accessToken: $t) { id } }`, map[string]any{"id": num, "t": simToken})

	for i := range replies {
		_, err := s.WriteIn(simNumberID, fmt.Sprintf("3362%07d", i), whatsapp.Message{Type: "text", Text: "hello"})
		require.NoError(t, err)
	}
	var convs []string
	require.Eventually(t, func() bool {
		d := gql(token, `{ conversations(first: 100) { totalCount } }`, nil)
		return d["conversations"].(map[string]any)["totalCount"].(float64) == replies
	}, 2*time.Minute, 100*time.Millisecond)
	for after := ""; ; {
		d := gql(token, `query($a: Cursor) { conversations(first: 100, after: $a) { pageInfo { hasNextPage endCursor } edges { node { id } } } }`,
			map[string]any{"a": nilIfEmpty(after)})["conversations"].(map[string]any)
		for _, e := range d["edges"].([]any) {
			convs = append(convs, e.(map[string]any)["node"].(map[string]any)["id"].(string))
		}
		page := d["pageInfo"].(map[string]any)
		if !page["hasNextPage"].(bool) {
			break
		}
		after = page["endCursor"].(string)
	}
	require.Len(t, convs, replies)

	// Slow answers, so that sends are in flight when the kill comes.
	require.NoError(t, s.SetFaults(sim.Faults{Latency: 40 * time.Millisecond}))
	for i, c := range convs {
		gql(token, `mutation($c: ID!, $t: String!) { sendMessage(input: {conversationID: $c, text: $t}) { id } }`,
			map[string]any{"c": c, "t": fmt.Sprintf("reply %d", i)})
	}
	require.Eventually(t, func() bool { return len(s.Log()) >= replies/4 }, time.Minute, 5*time.Millisecond)
	require.NoError(t, server.Process.Signal(syscall.SIGKILL))
	_ = server.Wait()
	sentAtKill := len(s.Log())
	require.Less(t, sentAtKill, replies, "the kill came in the middle of sending")

	server = start()
	t.Cleanup(func() {
		_ = server.Process.Signal(os.Interrupt)
		_ = server.Wait()
	})
	token = gql("", `mutation { login(email: "olivia@acme.test", password: "owner password 1") { accessToken } }`, nil)["login"].(map[string]any)["accessToken"].(string)
	require.Eventually(t, func() bool {
		d := gql(token, `{ messages(where: {direction: OUTBOUND, status: QUEUED}) { totalCount } }`, nil)
		return d["messages"].(map[string]any)["totalCount"].(float64) == 0
	}, 3*time.Minute, 200*time.Millisecond)

	per := map[string]int{}
	for _, e := range s.Log() {
		per[e.To]++
	}
	duplicates := 0
	for _, n := range per {
		duplicates += n - 1
	}
	t.Logf("killed after %d of %d sends; %d duplicates afterwards (bound: %d in flight)", sentAtKill, replies, duplicates, sendWorkers)
	require.Len(t, per, replies, "no reply was lost")
	require.LessOrEqual(t, duplicates, sendWorkers, "only sends in flight at the kill may be repeated")
	failed := gql(token, `{ messages(where: {status: FAILED}) { totalCount } }`, nil)
	require.Zero(t, failed["messages"].(map[string]any)["totalCount"])
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
