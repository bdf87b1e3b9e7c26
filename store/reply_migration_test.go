package store_test

import (
	"database/sql"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/store"
)

// Before 0008, ent kept Message.reply_to as a bidirectional one-to-one: the
// quoted message got a reply_to back to its reply, and a second reply to it
// broke a unique index. A database at that schema, with such rows, is
// repaired by the migration: each reply keeps its link, the quoted message
// loses the one pointing back, and a message may then be quoted many times.
func TestMigrationRepairsCrossLinkedReplies(t *testing.T) {
	t.Parallel()
	eachEmpty(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		require.NoError(t, db.MigrateTo(ctx, "0007"))
		q := func(s string) string {
			if db.Dialect == dialect.SQLite {
				return strings.ReplaceAll(s, `"`, "`")
			}
			return s
		}
		exec := func(s string) {
			t.Helper()
			_, err := db.SQL.ExecContext(ctx, q(s))
			require.NoError(t, err, s)
		}
		exec(`INSERT INTO "tenants" ("id", "created_at", "updated_at", "name", "slug", "settings") VALUES ('ten_1', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 'Acme', 'acme', '{}')`)
		exec(`INSERT INTO "numbers" ("id", "created_at", "updated_at", "phone", "display_name", "tenant_id") VALUES ('num_1', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', '+15550001', 'Main', 'ten_1')`)
		exec(`INSERT INTO "contacts" ("id", "created_at", "updated_at", "wa_id", "tags", "attributes", "tenant_id") VALUES ('ctc_1', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', '15550002', '[]', '{}', 'ten_1')`)
		exec(`INSERT INTO "conversations" ("id", "created_at", "updated_at", "tenant_id", "number_id", "contact_id") VALUES ('cnv_1', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 'ten_1', 'num_1', 'ctc_1')`)
		// a (10:00) quoted by b (10:01), cross-linked; c quoted by d, cross-
		// linked at the same second (the id breaks the tie); f quotes e, and
		// e points nowhere: kept as it is.
		for _, m := range [][3]string{
			{"msg_a", "2026-01-01 10:00:00+00:00", ""}, {"msg_b", "2026-01-01 10:01:00+00:00", "msg_a"},
			{"msg_c", "2026-01-01 11:00:00+00:00", ""}, {"msg_d", "2026-01-01 11:00:00+00:00", "msg_c"},
			{"msg_e", "2026-01-01 12:00:00+00:00", ""}, {"msg_f", "2026-01-01 12:05:00+00:00", "msg_e"},
		} {
			exec(`INSERT INTO "messages" ("id", "created_at", "updated_at", "direction", "tenant_id", "conversation_id", "number_id") VALUES ('` +
				m[0] + `', '` + m[1] + `', '` + m[1] + `', 'INBOUND', 'ten_1', 'cnv_1', 'num_1')`)
		}
		for _, link := range [][2]string{{"msg_b", "msg_a"}, {"msg_a", "msg_b"}, {"msg_d", "msg_c"}, {"msg_c", "msg_d"}, {"msg_f", "msg_e"}} {
			exec(`UPDATE "messages" SET "reply_to_id" = '` + link[1] + `' WHERE "id" = '` + link[0] + `'`)
		}

		require.NoError(t, db.Migrate(ctx))
		got := map[string]string{}
		rows, err := db.SQL.QueryContext(ctx, `SELECT id, reply_to_id FROM messages`)
		require.NoError(t, err)
		for rows.Next() {
			var id string
			var to sql.NullString
			require.NoError(t, rows.Scan(&id, &to))
			got[id] = to.String
		}
		require.NoError(t, rows.Close())
		require.Equal(t, map[string]string{
			"msg_a": "", "msg_b": "msg_a", "msg_c": "", "msg_d": "msg_c", "msg_e": "", "msg_f": "msg_e",
		}, got)
		// a second reply to the same message is accepted now
		exec(`INSERT INTO "messages" ("id", "created_at", "updated_at", "direction", "tenant_id", "conversation_id", "number_id", "reply_to_id") VALUES ('msg_g', '2026-01-01 13:00:00+00:00', '2026-01-01 13:00:00+00:00', 'INBOUND', 'ten_1', 'cnv_1', 'num_1', 'msg_a')`)
	})
}
