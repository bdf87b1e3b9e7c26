package connector_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	entcontact "github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
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
			count := storetest.CountIn
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

// A batch of deliveries ingested in one transaction shares its reads and
// its writes of the deliveries: 10 new customers' messages read their
// contacts, look for their ids and mark their deliveries in one statement
// each, tell their events' audience in one, and do not read their
// conversations again for the report.
func TestBatchStatements(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			counter := new(storetest.Counter)
			db := storetest.Open(t, d, store.WithDriver(counter.Wrap))
			b := setupSweep(t, db)
			b.sweeper.Workers = 1
			const n = 10
			for i := range n {
				b.stored(t, customerText(i, fmt.Sprintf("wamid.batch.%d", i), 1750000000+int64(i)), "")
			}
			counter.Reset()
			got, err := b.sweeper.Sweep(t.Context())
			require.NoError(t, err)
			require.Equal(t, n, got)
			statements := counter.Statements()
			count := func(part string) int { return storetest.CountIn(statements, part) }
			all := strings.Join(statements, "\n")
			require.Equal(t, 1, count(`FROM "contacts"`), "the customers' contacts read at once:\n%s", all)
			require.Equal(t, 1, count(`"provider_message_id" IN`), "the batch's ids checked at once")
			require.Equal(t, 2, count(`UPDATE "webhook_deliveries"`), "the claim, and the outcomes in one")
			require.Equal(t, 1, count(`"conversations"."assignee_id" FROM "conversations"`), "the events' audience read at once")
			require.Zero(t, count(`SELECT "conversations"."id", "conversations"."created_at"`), "no conversation read again")
			require.Equal(t, n, count(`INSERT INTO "messages"`))

			ds, err := db.Client.WebhookDelivery.Query().All(viewer.Platform(t.Context()))
			require.NoError(t, err)
			for _, d := range ds {
				require.Equal(t, webhookdelivery.StatePROCESSED, d.State)
				require.Equal(t, []string{"1122334455667"}, d.PhoneNumberIds)
				require.Empty(t, d.UnroutedPhoneNumberIds)
				require.Equal(t, 1, d.Attempts)
				require.Empty(t, d.Claim)
				require.NotNil(t, d.ProcessedAt)
			}
			require.EqualValues(t, n, b.ingester.Batched())
		})
	}
}

// In a batch the contacts read at once stay true to the transaction: a
// customer writing twice gets one contact and one conversation, a contact
// that learns something is read again by the messages after it, and a
// contact known before learns its BSUID.
func TestBatchContacts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setupSweep(t, db)
		b.sweeper.Workers = 1
		known, err := db.Client.Contact.Create().SetWaID("16505550002").SetPhone("+16505550002").SetProfileName("Bob").Save(b.ctx)
		require.NoError(t, err)
		from := func(wamid, waID, userID, name string) []byte {
			return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"1122334455667"},
"contacts":[{"profile":{"name":%q},"wa_id":%q,"user_id":%q}],
"messages":[{"from":%q,"from_user_id":%q,"id":%q,"timestamp":"1750000000","type":"text","text":{"body":"hi"}}]}}]}]}`,
				name, waID, userID, waID, userID, wamid)
		}
		for _, body := range [][]byte{
			from("wamid.a1", "16505550001", "", "Ann"),
			from("wamid.a2", "16505550001", "", "Annie"), // learnt: the contacts read are stale
			from("wamid.a3", "16505550001", "", "Annie"),
			from("wamid.b1", "16505550002", "US.13491208655302741918", "Bob"),
		} {
			b.stored(t, body, "")
		}
		n, err := b.sweeper.Sweep(t.Context())
		require.NoError(t, err)
		require.Equal(t, 4, n)
		require.EqualValues(t, 4, b.ingester.Batched())

		ann, err := db.Client.Contact.Query().Where(entcontact.WaID("16505550001")).All(b.ctx)
		require.NoError(t, err)
		require.Len(t, ann, 1, "one contact")
		require.Equal(t, "Annie", ann[0].ProfileName)
		convs, err := db.Client.Conversation.Query().Where(conversation.ContactID(ann[0].ID)).Count(b.ctx)
		require.NoError(t, err)
		require.Equal(t, 1, convs, "one conversation")
		msgs, err := db.Client.Message.Query().Where(message.ProviderMessageIDHasPrefix("wamid.a")).Count(b.ctx)
		require.NoError(t, err)
		require.Equal(t, 3, msgs)

		bob, err := db.Client.Contact.Get(b.ctx, known.ID)
		require.NoError(t, err)
		require.NotNil(t, bob.UserID)
		require.Equal(t, "US.13491208655302741918", *bob.UserID, "the contact known by phone learnt its BSUID")
		total, err := db.Client.Contact.Query().Count(b.ctx)
		require.NoError(t, err)
		require.Equal(t, 2, total)
	})
}
