package connector_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// textFrom is a customer's text message as the Cloud API's messages webhook
// reference shows it (v23): contacts[] with the profile, messages[] with
// from, id, timestamp, type and text, and context when it quotes a message.
func textFrom(waID, id, body, quoted string) []byte {
	ctx := ""
	if quoted != "" {
		ctx = fmt.Sprintf(`,"context":{"from":"972123456789","id":%q}`, quoted)
	}
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"1122334455667"},
"contacts":[{"profile":{"name":"Kerry Fisher"},"wa_id":%q}],
"messages":[{"from":%q,"id":%q,"timestamp":"1750000000","type":"text","text":{"body":%q}%s}]}}]}]}`, waID, waID, id, body, ctx)
}

// Two customers' messages quoting the same message are both stored as its
// replies, and the quoted message quotes nothing (reply_to was a
// bidirectional one-to-one: the second reply hit a unique index and its
// delivery failed for days).
func TestManyRepliesToOneMessage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		require.Equal(t, http.StatusOK, b.post(t, textFrom("16505551234", "wamid.quoted", "the menu?", "")))
		require.Equal(t, http.StatusOK, b.post(t, textFrom("16505551234", "wamid.reply1", "this one", "wamid.quoted")))
		require.Equal(t, http.StatusOK, b.post(t, textFrom("16505551234", "wamid.reply2", "and this", "wamid.quoted")))

		quoted, err := db.Client.Message.Query().Where(message.ProviderMessageID("wamid.quoted")).WithReplies().WithReplyTo().Only(b.ctx)
		require.NoError(t, err)
		require.Nil(t, quoted.Edges.ReplyTo)
		require.Nil(t, quoted.ReplyToID)
		var replies []string
		for _, r := range quoted.Edges.Replies {
			replies = append(replies, *r.ProviderMessageID)
			require.Equal(t, quoted.ID, *r.ReplyToID)
		}
		require.ElementsMatch(t, []string{"wamid.reply1", "wamid.reply2"}, replies)
	})
}
