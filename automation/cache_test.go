package automation_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/automation"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/automationrule"
	"github.com/switchboard-dev/switchboard/ent/automationrun"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/inbox"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/routing"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestRulesAreKeptAndDroppedOnEveryInstance: a tenant's rules are read once
// and kept. A customer's message then costs no statement at all for a
// tenant without rules. A rule created on instance A runs on instance B's
// next messages (B hears of it over the bus), and one deleted on A stops
// running on B.
func TestRulesAreKeptAndDroppedOnEveryInstance(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			var counter storetest.Counter
			db := storetest.Open(t, d, store.WithDriver(counter.Wrap))
			ten, err := db.Client.Tenant.Create().SetName("Acme").SetSlug("acme").Save(viewer.Platform(t.Context()))
			require.NoError(t, err)
			ctx := viewer.System(t.Context(), ten.ID)
			num, err := db.Client.Number.Create().SetPhone("+33100000001").SetDisplayName("Sales").Save(ctx)
			require.NoError(t, err)
			ct, err := db.Client.Contact.Create().SetWaID("33611111111").Save(ctx)
			require.NoError(t, err)
			conv, err := db.Client.Conversation.Create().SetNumberID(num.ID).SetContactID(ct.ID).Save(ctx)
			require.NoError(t, err)

			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			bus := realtime.NewMemory()
			t.Cleanup(func() { _ = bus.Close() })
			instance := func() *automation.Service {
				pub := realtime.NewPublisher(bus, quiet)
				clk := clock.Real()
				svc := automation.New(db.Client, pub, nil, routing.New(db.Client, pub, clk), inbox.NewService(db.Client, pub, nil, clk), clk, quiet)
				require.NoError(t, svc.Follow(t.Context(), bus, quiet))
				return svc
			}
			a, b := instance(), instance()

			// arrive records a customer's message and runs b's rules on it,
			// counting the statements of the rules' part alone.
			arrive := func() (statements int) {
				err := store.WithTx(ctx, db.Client, func(ctx context.Context, tx *ent.Tx) error {
					msg, err := tx.Message.Create().SetConversationID(conv.ID).SetNumberID(num.ID).
						SetDirection(message.DirectionINBOUND).SetStatus(message.StatusRECEIVED).SetBody("hello").Save(ctx)
					if err != nil {
						return err
					}
					counter.Reset()
					err = b.Arrived(ctx, tx, conv, msg, false)
					statements = counter.Count()
					return err
				})
				require.NoError(t, err)
				return statements
			}
			runs := func() int {
				n, err := db.Client.AutomationRun.Query().Where(automationrun.ConversationID(conv.ID)).Count(ctx)
				require.NoError(t, err)
				return n
			}

			require.Equal(t, 1, arrive(), "the first message reads the tenant's (no) rules")
			require.Zero(t, arrive(), "then a tenant without rules costs no statement")

			rule, err := a.CreateRule(ctx, automation.RuleInput{Name: "tag", Enabled: true, Trigger: automationrule.TriggerCUSTOMER_MESSAGE,
				Actions: []schematype.RuleAction{{Type: automation.ActTag, Tag: "seen"}}})
			require.NoError(t, err)
			require.Eventually(t, func() bool { arrive(); return runs() > 0 }, 10*time.Second, 20*time.Millisecond,
				"B runs the rule created on A")

			_, err = a.DeleteRule(ctx, rule.ID)
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				before := runs()
				arrive()
				return runs() == before
			}, 10*time.Second, 20*time.Millisecond, "B stops running the rule deleted on A")
			require.Zero(t, arrive())
		})
	}
}
