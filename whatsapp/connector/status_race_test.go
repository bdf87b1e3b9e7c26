package connector_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// Two statuses of one message ingested at once take turns (Postgres; SQLite
// runs one write transaction at a time): a delivered that reads the message
// while a read is being written waits for it and then does not move it back.
// Without the lock it read SENT, waited only at its UPDATE, and wrote
// DELIVERED over READ.
func TestStatusesOfOneMessageTakeTurns(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, dialect.Postgres) // skips without TEST_DATABASE_URL
	b := setup(t, db)
	s := samples(t, "message_status.json")
	out := outbound(t, b, message.StatusSENT, statusID(t, s["delivered"]))

	// The read, being written: its transaction holds the message's row.
	err := whileHeld(t, b, db, s["delivered"], `UPDATE messages SET status = 'READ', read_at = $1 WHERE id = $2`, time.Now(), out.ID)
	require.NoError(t, err)

	m, err := db.Client.Message.Get(b.ctx, out.ID)
	require.NoError(t, err)
	require.Equal(t, message.StatusREAD, m.Status, "the delivered did not write over the read")
}

// A status that arrives while the sender records its message's wamid (a
// broadcast's record holds the row) is applied when the record commits, not
// put off as a status before its send. The first lookup, by wamid, does not
// see the uncommitted wamid; the lookup by the callback data waited for the
// row and, when it required the wamid still empty, found nothing once the
// record committed: the delivery then waited 1 s on the service clock (and
// for ever on a test's stopped one: TestFridayVIPBroadcast under load).
func TestStatusDuringTheSendersRecord(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, dialect.Postgres) // skips without TEST_DATABASE_URL
	b := setup(t, db)
	s := samples(t, "message_status.json")
	wamid := statusID(t, s["delivered"])
	out := outbound(t, b, message.StatusQUEUED, "")
	body := withCallbackData(t, s["delivered"], out.ID)

	err := whileHeld(t, b, db, body, `UPDATE messages SET status = 'SENT', sent_at = $1, provider_message_id = $2 WHERE id = $3 AND status = 'QUEUED'`,
		time.Now(), wamid, out.ID)
	require.NoError(t, err, "the status found its message")

	m, err := db.Client.Message.Get(b.ctx, out.ID)
	require.NoError(t, err)
	require.Equal(t, message.StatusDELIVERED, m.Status)
	require.Equal(t, wamid, *m.ProviderMessageID)
}

// outbound is a message sent to the sample's customer from b's number, in
// status, with wamid (none when empty).
func outbound(t *testing.T, b *testBundle, status message.Status, wamid string) *ent.Message {
	t.Helper()
	b.post(t, withMessageID(t, samples(t, "message.json")["text"], "wamid.in"))
	in, err := b.db.Client.Message.Query().Where(message.ProviderMessageID("wamid.in")).Only(b.ctx)
	require.NoError(t, err)
	c := b.db.Client.Message.Create().SetConversationID(in.ConversationID).SetNumberID(b.num.ID).
		SetDirection(message.DirectionOUTBOUND).SetStatus(status).SetBody("hi")
	if wamid != "" {
		c.SetProviderMessageID(wamid)
	}
	out, err := c.Save(b.ctx)
	require.NoError(t, err)
	return out
}

// whileHeld runs update (with args) in a transaction of its own, ingests
// body while that transaction holds the rows, commits it once the ingest
// waits for its lock, and returns what the ingest returned. An ingest that
// ends without waiting fails the test: it proves nothing.
func whileHeld(t *testing.T, b *testBundle, db *store.DB, body []byte, update string, args ...any) error {
	t.Helper()
	holding, err := db.SQL.BeginTx(t.Context(), nil)
	require.NoError(t, err)
	_, err = holding.ExecContext(t.Context(), update, args...)
	require.NoError(t, err)

	require.Equal(t, http.StatusOK, b.deliver(body).Code)
	ids := unclaimed(t, db)
	require.Len(t, ids, 1)
	done := make(chan error, 1)
	go func() { done <- b.ingester.Process(t.Context(), ids[0]) }()

	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("the ingest ended (%v) without waiting for the held row", err)
		default:
		}
		var waiting int
		require.NoError(t, db.SQL.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity
WHERE wait_event_type = 'Lock' AND query LIKE '%messages%' AND datname = current_database()`).Scan(&waiting))
		if waiting > 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the ingest waits for the held row")
	}
	require.NoError(t, holding.Commit())
	return <-done
}

// withCallbackData gives the sample's statuses biz_opaque_callback_data
// (what a send names its message by).
func withCallbackData(t *testing.T, body json.RawMessage, data string) []byte {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(body, &v))
	for _, e := range v["entry"].([]any) {
		for _, ch := range e.(map[string]any)["changes"].([]any) {
			if sts, ok := ch.(map[string]any)["value"].(map[string]any)["statuses"].([]any); ok {
				for _, st := range sts {
					st.(map[string]any)["biz_opaque_callback_data"] = data
				}
			}
		}
	}
	out, err := json.Marshal(v)
	require.NoError(t, err)
	return out
}
