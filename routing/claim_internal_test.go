package routing

import (
	"context"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/assignment"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// claimAndGive never leaves an agent's load raised for a conversation it
// did not assign: if its conversation UPDATE matched no row (RouteTx holds
// the row, so only a caller that breaks that could see it), the statement
// claimed an agent all the same (Postgres runs every part of a WITH), and
// it fails the transaction instead of answering "nobody claimed".
func TestClaimAndGiveFailsRatherThanLeakALoad(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, dialect.Postgres) // skips without TEST_DATABASE_URL
	ten, err := db.Client.Tenant.Create().SetName("Acme").SetSlug("acme").Save(viewer.Platform(t.Context()))
	require.NoError(t, err)
	ctx := viewer.System(t.Context(), ten.ID)
	num, err := db.Client.Number.Create().SetPhone("+33100000001").SetDisplayName("Sales").Save(ctx)
	require.NoError(t, err)
	a, err := db.Client.Agent.Create().SetName("Agent 101").SetEmail("101@acme.test").SetPasswordHash("x").
		SetEmployeeCode("101").SetPresence(agent.PresenceONLINE).SetMaxConcurrent(3).Save(ctx)
	require.NoError(t, err)
	s := New(db.Client, nil, clock.NewFake(time.Now()))
	pol := schematype.RoutingPolicy{Strategies: []schematype.RoutingStrategy{schematype.StrategyLeastLoaded}}
	missing := &ent.Conversation{ID: "cnv_missing", TenantID: ten.ID, NumberID: num.ID, ContactID: "ctc_missing"}

	err = store.WithTx(ctx, db.Client, func(ctx context.Context, tx *ent.Tx) error {
		_, err := s.claimAndGive(ctx, tx, missing, pol, schematype.StrategyLeastLoaded, eligibleAgents(num, pol),
			Decision{Strategy: schematype.StrategyLeastLoaded, Reason: "least loaded"}, assignment.CausePOLICY)
		return err
	})
	require.ErrorContains(t, err, "claimed but the conversation not assigned")
	got, err := db.Client.Agent.Get(ctx, a.ID)
	require.NoError(t, err)
	require.Zero(t, got.OpenCount, "the claim was rolled back with the transaction")
}
