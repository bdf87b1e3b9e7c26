package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/switchboard-dev/switchboard/automation"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/automationrule"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/inbox"
	"github.com/switchboard-dev/switchboard/routing"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// rules200 are 200 rules on the customer's message, of every condition
// kind, of which only the last holds for the benchmark's message.
func rules200() []*ent.AutomationRule {
	kinds := []schematype.RuleCondition{
		{Field: automation.FieldContactTag, Op: automation.OpIn, Values: []string{"vip", "gold"}},
		{Field: automation.FieldMessageText, Op: automation.OpContains, Values: []string{"refund", "broken", "cancel"}},
		{Field: automation.FieldMessageText, Op: automation.OpMatches, Values: []string{`(?i)\border\s+#?\d{6}\b`}},
		{Field: automation.FieldContactAttribute, Op: automation.OpIn, Key: "plan", Values: []string{"enterprise"}},
		{Field: automation.FieldPriority, Op: automation.OpIn, Values: []string{"URGENT"}},
		{Field: automation.FieldBusinessHours, Op: automation.OpIn, Values: []string{"CLOSED"}},
	}
	rules := make([]*ent.AutomationRule, 200)
	for i := range rules {
		conds := []schematype.RuleCondition{
			{Field: automation.FieldNumber, Op: automation.OpIn, Values: []string{"num_main"}},
			kinds[i%len(kinds)],
		}
		if i == len(rules)-1 {
			conds = conds[:1]
		}
		rules[i] = &ent.AutomationRule{Name: fmt.Sprint("rule ", i), Position: i, Conditions: conds,
			Actions: []schematype.RuleAction{{Type: automation.ActTag, Tag: fmt.Sprint("t", i)}}}
	}
	return rules
}

// BenchmarkRulesMatch evaluates the conditions of 200 rules against one
// incoming message's facts: the in-memory part of a rule pass.
func BenchmarkRulesMatch(b *testing.B) {
	rules := rules200()
	facts := &automation.Facts{NumberID: "num_main", Priority: "NORMAL", ContactTags: []string{"new"},
		ContactAttrs: map[string]string{"plan": "free"}, BusinessOpen: true,
		MessageText: "Hello, I ordered a blue jacket last week and it has not arrived yet, can you check? Thanks"}
	latencies := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		matched := 0
		for _, r := range rules {
			if automation.Matches(r.Conditions, facts) {
				matched++
			}
		}
		latencies = append(latencies, time.Since(t0))
		if matched != 1 {
			b.Fatalf("%d rules matched, want 1", matched)
		}
	}
	b.StopTimer()
	report(b, latencies)
}

// BenchmarkRulesOnMessage runs the whole pass of a customer's message with
// 200 rules in the database (rules=200): the rules as the service keeps
// them, reading the facts, evaluating, running and logging the one that
// holds, in the message's transaction (the message's own insert is outside
// the measure); and, as the baseline of the same run, a tenant without rules
// (rules=0). Reported: p50/p99 and the most statements a pass ran.
func BenchmarkRulesOnMessage(b *testing.B) {
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		for _, n := range []int{0, 200} {
			b.Run(fmt.Sprintf("%s/rules=%d", d, n), func(b *testing.B) { rulesOnMessage(b, d, n) })
		}
	}
}

func rulesOnMessage(b *testing.B, d string, n int) {
	var counter storetest.Counter
	db := storetest.Open(b, d, store.WithDriver(counter.Wrap))
	ten, err := db.Client.Tenant.Create().SetName("Bench").SetSlug("bench").Save(viewer.Platform(b.Context()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := viewer.System(b.Context(), ten.ID)
	var always []schematype.BusinessHours // open around the clock: the BUSINESS_HOURS CLOSED rules do not hold
	for wd := range 7 {
		always = append(always, schematype.BusinessHours{Weekday: wd, Open: "00:00", Close: "24:00"})
	}
	if err := db.Client.Tenant.UpdateOneID(ten.ID).SetSettings(schematype.TenantSettings{BusinessHours: always}).Exec(ctx); err != nil {
		b.Fatal(err)
	}
	num, err := db.Client.Number.Create().SetPhone("+33100000009").SetDisplayName("Bench").Save(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var bulk []*ent.AutomationRuleCreate
	for _, r := range rules200()[200-n:] {
		for i := range r.Conditions {
			if r.Conditions[i].Field == automation.FieldNumber {
				r.Conditions[i].Values = []string{num.ID}
			}
		}
		bulk = append(bulk, db.Client.AutomationRule.Create().SetName(r.Name).SetPosition(r.Position).
			SetTrigger(automationrule.TriggerCUSTOMER_MESSAGE).SetConditions(r.Conditions).SetActions(r.Actions))
	}
	if n > 0 {
		if err := db.Client.AutomationRule.CreateBulk(bulk...).Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	ct, err := db.Client.Contact.Create().SetWaID("33600000001").Save(ctx)
	if err != nil {
		b.Fatal(err)
	}
	conv, err := db.Client.Conversation.Create().SetNumberID(num.ID).SetContactID(ct.ID).Save(ctx)
	if err != nil {
		b.Fatal(err)
	}
	clk := clock.Real()
	svc := automation.New(db.Client, nil, nil, routing.New(db.Client, nil, clk), inbox.NewService(db.Client, nil, nil, clk), clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	latencies := make([]time.Duration, 0, b.N)
	statements := 0
	b.ResetTimer()
	for range b.N {
		err := store.WithTx(ctx, db.Client, func(ctx context.Context, tx *ent.Tx) error {
			b.StopTimer()
			msg, err := tx.Message.Create().SetConversationID(conv.ID).SetNumberID(num.ID).
				SetDirection(message.DirectionINBOUND).SetStatus(message.StatusRECEIVED).
				SetBody("Hello, where is my jacket?").Save(ctx)
			if err != nil {
				return err
			}
			counter.Reset()
			b.StartTimer()
			t0 := time.Now()
			err = svc.Arrived(ctx, tx, conv, msg, false)
			latencies = append(latencies, time.Since(t0))
			statements = max(statements, counter.Count())
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	report(b, latencies)
	b.ReportMetric(float64(statements), "max-statements/op")
}
