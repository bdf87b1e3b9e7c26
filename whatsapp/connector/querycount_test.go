package connector_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// inboundBatch is one delivery with n texts of one customer, ids prefixed.
func inboundBatch(prefix string, n int) []byte {
	msgs := make([]string, n)
	for i := range msgs {
		msgs[i] = fmt.Sprintf(`{"from":"16505551234","id":"%s.%d","timestamp":"%d","type":"text","text":{"body":"hello %d"}}`,
			prefix, i, 1750000000+i, i)
	}
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"1122334455667"},
"contacts":[{"profile":{"name":"Kerry Fisher"},"wa_id":"16505551234"}],
"messages":[%s]}}]}]}`, strings.Join(msgs, ","))
}

// What ingesting a delivery costs in statements, pinned on both databases
// where it is the ingest's own (the report hooks' are theirs): a new
// customer's message is not looked for in conversations, nothing written is
// read back, the delivery is written once, and a delivery of 5 messages
// checks their ids in one query; delivered again, it costs only the
// delivery's own statements.
func TestIngestStatements(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			counter := new(storetest.Counter)
			b := setup(t, storetest.Open(t, d, store.WithDriver(counter.Wrap)))
			run := func(body []byte) []string {
				counter.Reset()
				require.Equal(t, http.StatusOK, b.post(t, body))
				return counter.Statements()
			}
			count := func(statements []string, part string) int {
				n := 0
				for _, s := range statements {
					if strings.Contains(strings.ReplaceAll(s, "`", `"`), part) {
						n++
					}
				}
				return n
			}
			// post's own: it lists the stored deliveries and reads each to process it
			const harness = 2

			first := run(inboundBatch("wamid.first", 1))
			require.Zero(t, count(first, `"conversations"."contact_id" =`), "a new contact has no conversation to look for")
			require.Zero(t, count(first, `SELECT "id", "created_at"`), "no row read back after an update")
			require.Equal(t, 1, count(first, `UPDATE "webhook_deliveries"`))
			require.Equal(t, 1, count(first, `UPDATE "conversations"`))

			five := run(inboundBatch("wamid.five", 5))
			require.Equal(t, 1, count(five, `"provider_message_id" IN`), "the change's ids checked at once")
			require.Equal(t, 1, count(five, `FROM "numbers"`))
			require.Equal(t, 5, count(five, `INSERT INTO "messages"`))
			require.Zero(t, count(five, `SELECT "id", "created_at"`))

			again := run(inboundBatch("wamid.five", 5))
			require.Len(t, again, harness+4, "stored, its number, the ids, its outcome:\n%s", strings.Join(again, "\n"))
		})
	}
}
