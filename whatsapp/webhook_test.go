package whatsapp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// loadFixtures reads every case of every sample file, keyed "file/case".
func loadFixtures(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	require.NoError(tb, err)
	require.NotEmpty(tb, files, "no samples in %s", fixtureDir)
	bodies := map[string][]byte{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(tb, err)
		var cases map[string]json.RawMessage
		require.NoError(tb, json.Unmarshal(data, &cases), file)
		for name, body := range cases {
			bodies[filepath.Base(file)+"/"+name] = body
		}
	}
	return bodies
}

func TestParseFixtures(t *testing.T) {
	t.Parallel()

	bodies := loadFixtures(t)
	for key := range bodies {
		require.Contains(t, fixtureWants, key, "sample %s has no expectation in fixtureWants", key)
	}
	for key := range fixtureWants {
		require.Contains(t, bodies, key, "fixtureWants has %s, which no sample file holds", key)
	}

	for key, body := range bodies {
		t.Run(key, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(body)
			require.NoError(t, err)
			requireRawKept(t, got)
			require.Equal(t, fixtureWants[key], got)
		})
	}
}

// requireRawKept checks that every change, message and status kept its own
// JSON, then clears it so the rest can be compared field by field.
func requireRawKept(t *testing.T, n *Notification) {
	t.Helper()
	for i := range n.Changes {
		c := &n.Changes[i]
		require.True(t, json.Valid(c.Raw), "change %d raw", i)
		c.Raw = nil
		for _, msgs := range [][]Message{c.Messages, c.Echoes} {
			for j := range msgs {
				requireRawOf(t, msgs[j].Raw, "id", msgs[j].ID)
				msgs[j].Raw = nil
				if e := msgs[j].Edited; e != nil {
					requireRawOf(t, e.Raw, "type", e.Type)
					e.Raw = nil
				}
			}
		}
		for j := range c.Statuses {
			requireRawOf(t, c.Statuses[j].Raw, "id", c.Statuses[j].MessageID)
			c.Statuses[j].Raw = nil
		}
	}
}

func requireRawOf(t *testing.T, raw json.RawMessage, key, want string) {
	t.Helper()
	var fields map[string]any
	require.NoError(t, json.Unmarshal(raw, &fields))
	require.Equal(t, want, fields[key], "raw %s", raw)
}

// Cases the samples do not cover, in the shapes Meta documents.
func TestParseBeyondFixtures(t *testing.T) {
	t.Parallel()

	messagesBody := func(messages string) string {
		return `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
			"metadata":{"display_phone_number":"15550001111","phone_number_id":"222"},
			"contacts":[{"profile":{"name":"Ana"},"wa_id":"34600000000"}],
			"messages":[` + messages + `]}}]}]}`
	}
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, c Change)
	}{
		{
			name: "flow reply",
			body: messagesBody(`{"from":"34600000000","id":"wamid.F","timestamp":"1700000000","type":"interactive",
				"interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent","response_json":"{\"flow_token\":\"t\"}"}}}`),
			check: func(t *testing.T, c Change) {
				require.Equal(t, &InteractiveReply{Type: "nfm_reply", Name: "flow", Body: "Sent", ResponseJSON: `{"flow_token":"t"}`}, c.Messages[0].Interactive)
				require.Equal(t, "Ana", c.Messages[0].ProfileName)
			},
		},
		{
			name: "group message",
			body: messagesBody(`{"from":"34600000000","group_id":"Y2FwaV9ncm91cDox","id":"wamid.G","timestamp":"1700000000","type":"text","text":{"body":"hi all"}}`),
			check: func(t *testing.T, c Change) {
				require.Equal(t, "Y2FwaV9ncm91cDox", c.Messages[0].GroupID)
				require.Equal(t, "hi all", c.Messages[0].Text)
			},
		},
		{
			name: "unknown message type keeps its name and raw content",
			body: messagesBody(`{"from":"34600000000","id":"wamid.P","timestamp":"1700000000","type":"poll","poll":{"question":"lunch?"}}`),
			check: func(t *testing.T, c Change) {
				m := c.Messages[0]
				require.Equal(t, "poll", m.Type)
				require.Contains(t, string(m.Raw), `"question":"lunch?"`)
			},
		},
		{
			name: "timestamp as a number",
			body: messagesBody(`{"from":"34600000000","id":"wamid.N","timestamp":1700000000,"type":"text","text":{"body":"x"}}`),
			check: func(t *testing.T, c Change) {
				require.Equal(t, unix(1700000000), c.Messages[0].Timestamp)
			},
		},
		{
			name: "quality update",
			body: `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1748454394,"changes":[{"field":"phone_number_quality_update",
				"value":{"display_phone_number":"15550783881","event":"DOWNGRADE","old_limit":"TIER_10K","current_limit":"TIER_1K","max_daily_conversations_per_business":"TIER_2K"}}]}]}`,
			check: func(t *testing.T, c Change) {
				require.Equal(t, FieldQualityUpdate, c.Field)
				require.Equal(t, "15550783881", c.DisplayPhone)
				require.Equal(t, unix(1748454394), c.Time)
				require.Equal(t, &QualityUpdate{Event: "DOWNGRADE", CurrentLimit: "TIER_1K", OldLimit: "TIER_10K", BusinessLimit: "TIER_2K"}, c.Quality)
			},
		},
		{
			name: "unknown field keeps its raw value",
			body: `{"object":"whatsapp_business_account","entry":[{"id":"1","time":1700000000,"changes":[{"field":"account_alerts",
				"value":{"entity_type":"BUSINESS","alert_info":{"alert_type":"OBA_APPROVED"}}}]}]}`,
			check: func(t *testing.T, c Change) {
				require.Equal(t, "account_alerts", c.Field)
				require.Equal(t, "1", c.WABAID)
				require.Contains(t, string(c.Raw), "OBA_APPROVED")
				require.Nil(t, c.Account)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := Parse([]byte(tt.body))
			require.NoError(t, err)
			require.Len(t, n.Changes, 1)
			tt.check(t, n.Changes[0])
		})
	}
}

func TestParseKeepsEveryChangeInOrder(t *testing.T) {
	t.Parallel()

	body := `{"object":"whatsapp_business_account","entry":[
		{"id":"A","changes":[{"field":"account_update","value":{"event":"ACCOUNT_OFFBOARDED"}},{"field":"account_update","value":{"event":"ACCOUNT_RECONNECTED"}}]},
		{"id":"B","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"9"},"statuses":[
			{"id":"wamid.1","status":"delivered","timestamp":"1"},{"id":"wamid.1","status":"read","timestamp":"2"}]}}]}]}`
	n, err := Parse([]byte(body))
	require.NoError(t, err)
	require.Len(t, n.Changes, 3)
	require.Equal(t, "ACCOUNT_OFFBOARDED", n.Changes[0].Account.Event)
	require.Equal(t, "ACCOUNT_RECONNECTED", n.Changes[1].Account.Event)
	require.Equal(t, "B", n.Changes[2].WABAID)
	require.Equal(t, []string{StatusDelivered, StatusRead}, []string{n.Changes[2].Statuses[0].Status, n.Changes[2].Statuses[1].Status})
}

func TestParseRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		body    string
		wantErr string
	}{
		{name: "empty", body: ``, wantErr: "unexpected end of JSON input"},
		{name: "truncated", body: `{"object":"whatsapp_business_account","entry":[`, wantErr: "unexpected end"},
		{name: "null", body: `null`, wantErr: ErrNotWhatsApp.Error()},
		{name: "another product", body: `{"object":"page","entry":[]}`, wantErr: ErrNotWhatsApp.Error()},
		{name: "entry not a list", body: `{"object":"whatsapp_business_account","entry":{}}`, wantErr: "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := Parse([]byte(tt.body))
			require.Error(t, err)
			require.Nil(t, n)
			require.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

// One item Parse cannot read is left out with its reason; the items beside
// it are read (defect 9: a non-numeric timestamp once failed the delivery).
func TestParseLeavesOutOnlyTheBadItem(t *testing.T) {
	t.Parallel()
	// a valid text message of the webhook reference beside the bad item
	const good = `{"from":"16505551234","id":"wamid.good","timestamp":"1750000000","type":"text","text":{"body":"hi"}}`
	const goodStatus = `{"id":"wamid.out","status":"delivered","timestamp":"1750000000","recipient_id":"16505551234"}`
	body := func(field, value string) string {
		return `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1750000000,"changes":[{"field":` + field + `,"value":` + value + `}]}]}`
	}
	messages := func(items ...string) string {
		return body(`"messages"`, `{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"1122334455667"},"messages":[`+strings.Join(items, ",")+`]}`)
	}
	tests := []struct {
		name, body, where, id, reason string
		messages, statuses            int
	}{
		{name: "message without id", body: messages(`{"from":"1","type":"text"}`, good), where: "entry 0, change 0 (messages), message 0", reason: "message without id", messages: 1},
		{name: "timestamp not unix seconds", body: messages(good, `{"id":"wamid.bad","from":"1","timestamp":"yesterday","type":"text","text":{"body":"x"}}`), where: "entry 0, change 0 (messages), message 1", id: "wamid.bad", reason: `timestamp "yesterday" is not unix seconds`, messages: 1},
		{name: "edit content of the wrong shape", body: messages(`{"id":"wamid.e","type":"edit","edit":{"message":[]}}`, good), where: "message 0", id: "wamid.e", reason: "edit:", messages: 1},
		{name: "echo without id", body: body(`"smb_message_echoes"`, `{"metadata":{"phone_number_id":"1"},"message_echoes":[{"from":"1","type":"text"}],"messages":[`+good+`]}`), where: "echo 0", reason: "message without id", messages: 1},
		{name: "status without status", body: body(`"messages"`, `{"metadata":{"phone_number_id":"1"},"statuses":[{"id":"wamid.1"},`+goodStatus+`]}`), where: "status 0", id: "wamid.1", reason: "status without", statuses: 1},
		{name: "pricing of the wrong type", body: body(`"messages"`, `{"metadata":{"phone_number_id":"1"},"statuses":[`+goodStatus+`,{"id":"wamid.2","status":"sent","pricing":{"billable":"yes"}}]}`), where: "status 1", id: "wamid.2", reason: "cannot unmarshal", statuses: 1},
		{name: "value of the wrong shape", body: `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":"hello"},{"field":"messages","value":{"metadata":{"phone_number_id":"1"},"messages":[` + good + `]}}]}]}`, where: "entry 0, change 0 (messages)", reason: "cannot unmarshal", messages: 1},
		{name: "entry time not a number", body: `{"object":"whatsapp_business_account","entry":[{"id":"1","time":"soon","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"},"messages":[` + good + `]}}]}]}`, where: "entry 0, time", reason: "not unix seconds", messages: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := Parse([]byte(tt.body))
			require.NoError(t, err)
			require.Len(t, n.Problems, 1)
			p := n.Problems[0]
			require.Contains(t, p.Where, tt.where)
			require.Equal(t, tt.id, p.ID)
			require.Contains(t, p.Reason, tt.reason)
			var msgs, sts int
			for _, c := range n.Changes {
				msgs += len(c.Messages) + len(c.Echoes)
				sts += len(c.Statuses)
			}
			require.Equal(t, tt.messages, msgs, "the valid messages beside it are read")
			require.Equal(t, tt.statuses, sts)
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, body := range loadFixtures(f) {
		f.Add(body)
	}
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"1","type":"edit","edit":{"message":{"type":"edit","edit":{"message":{}}}}}]}}]}]}`))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"history","value":{"history":[{"threads":[{"id":"1","messages":[{"from":"2","id":"w","timestamp":"x"}]}]}]}}]}]}`))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"group_participants_update","value":{"metadata":{"phone_number_id":"1"},"groups":[{"group_id":"g","type":"t","timestamp":1}]}}]}]}`))
	// 2026 shapes: a status naming the recipient by BSUID, priced per message; a username-only sender.
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"},"contacts":[{"wa_id":"1","user_id":"US.1"}],"statuses":[{"id":"w","status":"read","timestamp":"1","recipient_id":"1","recipient_user_id":"US.1","pricing":{"pricing_model":"PMP","category":"service","type":"free_customer_service"}}]}}]}]}`))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"},"contacts":[{"profile":{"username":"@u"},"user_id":"US.1","parent_user_id":"US.ENT.1"}],"messages":[{"from_user_id":"US.1","id":"w","timestamp":"1","type":"text","text":{"body":"hi"}}]}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := Parse(body)
		if err != nil {
			require.Nil(t, n)
			require.True(t, strings.HasPrefix(err.Error(), "whatsapp: "), err.Error())
			return
		}
		for _, c := range n.Changes {
			for _, m := range append(append(c.Messages, c.Echoes...), c.History...) {
				require.NotEmpty(t, m.ID)
			}
			for _, s := range c.Statuses {
				require.NotEmpty(t, s.MessageID)
				require.NotEmpty(t, s.Status)
			}
		}
	})
}
