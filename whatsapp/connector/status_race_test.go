package connector_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/whatsapp"
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
	b.post(t, withMessageID(t, samples(t, "message.json")["text"], "wamid.in"))
	in, err := db.Client.Message.Query().Where(message.ProviderMessageID("wamid.in")).Only(b.ctx)
	require.NoError(t, err)
	out, err := db.Client.Message.Create().SetConversationID(in.ConversationID).SetNumberID(b.num.ID).
		SetDirection(message.DirectionOUTBOUND).SetStatus(message.StatusSENT).SetBody("hi").
		SetProviderMessageID(statusID(t, s["delivered"])).Save(b.ctx)
	require.NoError(t, err)

	// The read, being written: its transaction holds the message's row.
	reading, err := db.SQL.BeginTx(t.Context(), nil)
	require.NoError(t, err)
	_, err = reading.ExecContext(t.Context(), `UPDATE messages SET status = 'READ', read_at = $1 WHERE id = $2`, time.Now(), out.ID)
	require.NoError(t, err)

	// The delivered arrives and is ingested meanwhile.
	body := s["delivered"]
	req := httptest.NewRequest(http.MethodPost, "/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign(secret, body))
	rec := httptest.NewRecorder()
	b.hook.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	ids := unclaimed(t, db)
	require.Len(t, ids, 1)
	done := make(chan error, 1)
	go func() { done <- b.ingester.Process(t.Context(), ids[0]) }()

	// Until it waits for the read's row lock (or is done: then it read
	// the message before the lock and the test proves nothing, so fail).
	require.Eventually(t, func() bool {
		var waiting int
		require.NoError(t, db.SQL.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity
WHERE wait_event_type = 'Lock' AND query LIKE '%messages%' AND datname = current_database()`).Scan(&waiting))
		return waiting > 0
	}, 10*time.Second, 5*time.Millisecond, "the delivered waits for the read's row")
	require.NoError(t, reading.Commit())
	require.NoError(t, <-done)

	m, err := db.Client.Message.Get(b.ctx, out.ID)
	require.NoError(t, err)
	require.Equal(t, message.StatusREAD, m.Status, "the delivered did not write over the read")
}
