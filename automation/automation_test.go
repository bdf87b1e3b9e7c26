package automation_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/automation"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/automationrule"
	"github.com/switchboard-dev/switchboard/ent/automationrun"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/inbox"
	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/routing"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

var dialects = []string{dialect.SQLite, dialect.Postgres}

// testBundle is one tenant with a number routed least-loaded, two agents
// online and the automation of one instance.
type testBundle struct {
	db       *store.DB
	ctx      context.Context // the tenant's system viewer
	clock    *clock.Fake
	number   *ent.Number
	ann, bob *ent.Agent
	n        atomic.Int64
}

func setup(t *testing.T, d string) *testBundle {
	t.Helper()
	db := storetest.Open(t, d)
	clk := clock.NewFake(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC))
	ten, err := db.Client.Tenant.Create().SetName("Acme").SetSlug("acme").SetTimezone("Europe/Paris").
		Save(viewer.Platform(t.Context()))
	require.NoError(t, err)
	b := &testBundle{db: db, ctx: viewer.System(t.Context(), ten.ID), clock: clk}
	b.number, err = db.Client.Number.Create().SetPhone("+33100000001").SetDisplayName("Sales").
		SetRoutingPolicy(schematype.RoutingPolicy{Strategies: []schematype.RoutingStrategy{schematype.StrategyLeastLoaded}}).Save(b.ctx)
	require.NoError(t, err)
	b.ann, b.bob = b.agent(t, "ann"), b.agent(t, "bob")
	return b
}

func (b *testBundle) agent(t *testing.T, name string) *ent.Agent {
	t.Helper()
	a, err := b.db.Client.Agent.Create().SetName(name).SetEmail(name + "@acme.test").SetPasswordHash("x").
		SetPresence(agent.PresenceONLINE).SetMaxConcurrent(5).Save(b.ctx)
	require.NoError(t, err)
	return a
}

// instance is one process's automation: its own services and job client
// over the shared database, working jobs by the test's clock.
type instance struct {
	svc    *automation.Service
	router *routing.Service
	jobs   *job.Client
}

func (b *testBundle) start(t *testing.T) *instance {
	t.Helper()
	workers := river.NewWorkers()
	jobs, err := job.New(b.db.SQL, b.db.Dialect, workers, job.Config{
		Clock: b.clock, PollInterval: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	router := routing.New(b.db.Client, nil, b.clock)
	svc := automation.New(b.db.Client, nil, jobs, router, inbox.NewService(b.db.Client, nil, nil, b.clock), b.clock, slog.Default())
	river.AddWorker(workers, &automation.TimerWorker{Automation: svc})
	require.NoError(t, jobs.Start(t.Context()))
	in := &instance{svc: svc, router: router, jobs: jobs}
	t.Cleanup(func() { in.stop(t) })
	return in
}

func (in *instance) stop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, in.jobs.Stop(ctx))
}

// customerWrites records a customer's message now, in a conversation held
// by holder (a new one when conv is nil), and tells the automation of it
// in the same transaction, as ingest does.
func (b *testBundle) customerWrites(t *testing.T, in *instance, holder *ent.Agent, conv *ent.Conversation) *ent.Conversation {
	t.Helper()
	created := conv == nil
	err := store.WithTx(b.ctx, b.db.Client, func(ctx context.Context, tx *ent.Tx) error {
		if created {
			i := b.n.Add(1)
			ct, err := tx.Contact.Create().SetWaID(fmt.Sprint(33600000000 + i)).Save(ctx)
			if err != nil {
				return err
			}
			if conv, err = tx.Conversation.Create().SetNumberID(b.number.ID).SetContactID(ct.ID).
				SetAssigneeID(holder.ID).SetCreatedAt(b.clock.Now()).Save(ctx); err != nil {
				return err
			}
		}
		msg, err := tx.Message.Create().SetConversationID(conv.ID).SetNumberID(b.number.ID).
			SetDirection(message.DirectionINBOUND).SetStatus(message.StatusRECEIVED).SetBody("hello?").
			SetCreatedAt(b.clock.Now()).Save(ctx)
		if err != nil {
			return err
		}
		return in.svc.Arrived(ctx, tx, conv, msg, created)
	})
	require.NoError(t, err)
	return conv
}

func (b *testBundle) agentReplies(t *testing.T, a *ent.Agent, conv *ent.Conversation) {
	t.Helper()
	_, err := b.db.Client.Message.Create().SetConversationID(conv.ID).SetNumberID(b.number.ID).
		SetDirection(message.DirectionOUTBOUND).SetStatus(message.StatusSENT).SetBody("on it").
		SetSenderID(a.ID).SetCreatedAt(b.clock.Now()).Save(b.ctx)
	require.NoError(t, err)
}

// runs waits until conv's rule runs number n (timers fire on River's
// polling: seconds, not minutes) and returns them.
func (b *testBundle) runs(t *testing.T, conv *ent.Conversation, n int) []*ent.AutomationRun {
	t.Helper()
	var runs []*ent.AutomationRun
	require.Eventually(t, func() bool {
		var err error
		runs, err = b.db.Client.AutomationRun.Query().Where(automationrun.ConversationID(conv.ID)).
			Order(ent.Asc(automationrun.FieldCreatedAt)).All(b.ctx)
		require.NoError(t, err)
		return len(runs) >= n
	}, 30*time.Second, 50*time.Millisecond, "%d run(s) of the rule on %s", n, conv.ID)
	return runs
}

// TestNoAgentReplyTimer: "no agent reply for 10 minutes → transfer to
// another online agent". Ann replies at minute 9: at minute 10 the timer is
// a logged SKIPPED and the conversation stays hers. Nobody replies to the
// second customer: at 9:59 nothing has happened, the instance restarts, and
// at minute 10 the new instance transfers it to Bob, in its history.
func TestNoAgentReplyTimer(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, d)
			_, err := b.db.Client.AutomationRule.Create().SetName("10 minutes without a reply").
				SetTrigger(automationrule.TriggerNO_AGENT_REPLY).SetDelayMinutes(10).
				SetActions([]schematype.RuleAction{{Type: automation.ActTransferOnline}}).Save(b.ctx)
			require.NoError(t, err)

			first := b.start(t)
			replied := b.customerWrites(t, first, b.ann, nil)
			b.clock.Advance(9 * time.Minute)
			b.agentReplies(t, b.ann, replied)
			b.clock.Advance(time.Minute)
			runs := b.runs(t, replied, 1)
			require.Equal(t, automationrun.OutcomeSKIPPED, runs[0].Outcome)
			require.Contains(t, runs[0].Detail, "an agent replied 9m0s after")
			require.Equal(t, b.ann.ID, *b.reload(t, replied).AssigneeID)

			waiting := b.customerWrites(t, first, b.ann, nil)
			b.clock.Advance(10*time.Minute - time.Second)
			time.Sleep(6 * time.Second) // more than River's scheduling interval (5 s): a timer due would have fired
			none, err := b.db.Client.AutomationRun.Query().Where(automationrun.ConversationID(waiting.ID)).Count(b.ctx)
			require.NoError(t, err)
			require.Zero(t, none, "nothing before 10 minutes")

			first.stop(t) // the timer is a row in the database, not a goroutine
			b.start(t)    // another instance, as after a restart
			b.clock.Advance(time.Second)
			runs = b.runs(t, waiting, 1)
			require.Equal(t, automationrun.OutcomeAPPLIED, runs[0].Outcome, "%+v", runs[0])
			require.Equal(t, string(automationrule.TriggerNO_AGENT_REPLY), runs[0].Trigger)
			require.Len(t, runs[0].Actions, 1)
			require.Contains(t, runs[0].Actions[0], "assigned to "+b.bob.ID)
			require.Equal(t, b.bob.ID, *b.reload(t, waiting).AssigneeID)
			history, err := b.reload(t, waiting).QueryAssignments().All(b.ctx)
			require.NoError(t, err)
			require.Len(t, history, 1)
			require.Equal(t, "RULE", string(history[0].Cause))
			require.Contains(t, history[0].Reason, `rule "10 minutes without a reply"`)
		})
	}
}

func (b *testBundle) reload(t *testing.T, c *ent.Conversation) *ent.Conversation {
	t.Helper()
	c, err := b.db.Client.Conversation.Get(b.ctx, c.ID)
	require.NoError(t, err)
	return c
}
