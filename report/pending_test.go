package report_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/report"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// The facts of a transaction's writes wait for its commit: opening 40
// conversations with a customer message each (a broadcast's claim, a batch
// of webhooks) reads the tenant once and writes the facts in three
// statements, not several per write; the facts equal those of the same
// writes made one by one; a transaction that rolls back leaves none; and a
// write through another transaction keeps its facts with that one.
func TestFactsAreWrittenAtTheCommit(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			counter := new(storetest.Counter)
			db := storetest.Open(t, d, store.WithDriver(counter.Wrap))
			b := setup(t, db)
			at := time.Date(2026, 10, 22, 9, 0, 0, 0, time.UTC)
			write := func(ctx context.Context, c *ent.Client, i int) error {
				ct, err := c.Contact.Create().SetWaID(fmt.Sprint(4915100000000 + i)).Save(ctx)
				if err != nil {
					return err
				}
				create := c.Conversation.Create().SetNumberID(b.numbers[i%2]).SetContactID(ct.ID).
					SetNillableAssigneeID(&b.agents[i%4]).SetCreatedAt(at).SetUpdatedAt(at)
				if i%4 == 0 { // opened resolved, as a broadcast's: a resolution sample
					create.SetStatus(conversation.StatusRESOLVED).SetResolvedAt(at.Add(2 * time.Minute))
				}
				conv, err := create.Save(ctx)
				if err != nil {
					return err
				}
				return c.Message.Create().SetConversationID(conv.ID).SetNumberID(conv.NumberID).SetCreatedAt(at.Add(time.Minute)).
					SetKind(message.KindTEXT).SetDirection(message.DirectionINBOUND).SetStatus(message.StatusRECEIVED).Exec(ctx)
			}
			reportStatements := func() (n int) {
				for _, s := range counter.Statements() {
					if strings.Contains(s, "report_") || strings.Contains(s, `FROM "tenants"`) || strings.Contains(s, "FROM `tenants`") {
						n++
					}
				}
				return n
			}

			// One by one, outside a transaction: each write its own facts.
			counter.Reset()
			for i := range 40 {
				require.NoError(t, write(b.ctx, db.Client, i))
			}
			oneByOne := reportStatements()
			require.GreaterOrEqual(t, oneByOne, 40*4, "written at once: several statements per write")
			single := b.factRows(t)
			for _, table := range []string{"report_conversations", "report_samples", "report_counts", "report_histogram_packs", "report_deltas"} {
				_, err := db.SQL.ExecContext(t.Context(), "DELETE FROM "+table)
				require.NoError(t, err)
			}

			// The same writes in one transaction.
			_, err := db.SQL.ExecContext(t.Context(), "DELETE FROM messages")
			require.NoError(t, err)
			for _, table := range []string{"conversations", "contacts"} {
				_, err := db.SQL.ExecContext(t.Context(), "DELETE FROM "+table)
				require.NoError(t, err)
			}
			counter.Reset()
			require.NoError(t, store.WithTx(b.ctx, db.Client, func(ctx context.Context, tx *ent.Tx) error {
				for i := range 40 {
					if err := write(ctx, tx.Client(), i); err != nil {
						return err
					}
				}
				return nil
			}))
			require.Equal(t, 4, reportStatements(), "one read of the tenant, one INSERT of samples, one of deltas, one of states:\n%s",
				strings.Join(counter.Statements(), "\n"))
			batched := b.factRows(t)
			for _, rows := range []map[string][]string{single, batched} {
				for table, rs := range rows { // the conversations are new ones: their ids differ
					for i, r := range rs {
						rs[i] = conversationID.ReplaceAllString(r, "cnv_")
					}
					slices.Sort(rs)
					rows[table] = rs
				}
			}
			require.NotEmpty(t, single["report_counts"])
			require.Equal(t, single, batched, "the same facts as one by one")

			// Rolled back: no fact is left.
			for _, table := range []string{"report_conversations", "report_samples", "report_counts", "report_deltas"} {
				_, err := db.SQL.ExecContext(t.Context(), "DELETE FROM "+table)
				require.NoError(t, err)
			}
			abort := errors.New("abort")
			require.ErrorIs(t, store.WithTx(b.ctx, db.Client, func(ctx context.Context, tx *ent.Tx) error {
				for i := range 5 {
					if err := write(ctx, tx.Client(), 100+i); err != nil {
						return err
					}
				}
				return abort
			}), abort)
			for _, table := range []string{"report_conversations", "report_samples", "report_counts", "report_deltas"} {
				var n int
				require.NoError(t, db.SQL.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n))
				require.Zero(t, n, table)
			}

			// A write through another transaction than the context's keeps
			// its facts with its own: they are written at once.
			if d == dialect.Postgres { // SQLite's one writer: a second transaction would wait on the first
				require.ErrorIs(t, store.WithTx(b.ctx, db.Client, func(ctx context.Context, _ *ent.Tx) error {
					other, err := db.Client.Tx(ctx)
					if err != nil {
						return err
					}
					if err := write(ctx, other.Client(), 200); err != nil {
						return errors.Join(err, other.Rollback())
					}
					if err := other.Commit(); err != nil {
						return err
					}
					return abort
				}), abort)
				var n int
				require.NoError(t, db.SQL.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM report_conversations").Scan(&n))
				require.Equal(t, 1, n, "the other transaction's facts are committed with it")
			}
			require.NoError(t, report.FoldAll(b.ctx, db.Client, db.Dialect))
		})
	}
}

var conversationID = regexp.MustCompile(`cnv_[0-9A-Z]{26}`)
