package presence_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent/agent"
	_ "github.com/switchboard-dev/switchboard/ent/runtime"
	"github.com/switchboard-dev/switchboard/presence"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/report"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/tenant"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Two instances share one database: a tab opened and closed on B does not
// take offline an agent still connected to A; A's renewals bring back an
// agent swept while A stalled; closing A takes them offline, once; and an
// instance that dies lets its agents' leases lapse, swept by the other.
func TestPresenceAcrossInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const grace = 300 * time.Millisecond
		ctx := t.Context()
		ten, owner, err := tenant.Create(ctx, db.Client, tenant.Input{
			Name: "Acme", Slug: "acme", OwnerName: "Owner", OwnerEmail: "owner@acme.test", OwnerPassword: "correct horse battery",
		})
		require.NoError(t, err)
		bus := realtime.NewMemory()
		t.Cleanup(func() { _ = bus.Close() })
		sub, err := bus.Subscribe(ctx, ten.ID)
		require.NoError(t, err)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))

		actx, stopA := context.WithCancel(ctx)
		defer stopA()
		a := presence.NewTracker(db.Client, bus, grace, clock.Real(), log)
		go a.Run(actx)
		b := presence.NewTracker(db.Client, bus, grace, clock.Real(), log)
		go b.Run(ctx)

		presenceNow := func() agent.Presence {
			ag, err := db.Client.Agent.Get(viewer.System(ctx, ten.ID), owner.ID)
			require.NoError(t, err)
			return ag.Presence
		}
		changes := 0
		nextChange := func(want agent.Presence) {
			t.Helper()
			select {
			case e := <-sub.Events():
				require.Equal(t, realtime.AgentPresenceChanged, e.Type)
				require.Equal(t, owner.ID, e.Subject)
				changes++
				require.Equal(t, want, presenceNow())
			case <-time.After(5 * time.Second):
				t.Fatalf("no presence change to %s", want)
			}
		}

		a.Connected(ten.ID, owner.ID)
		nextChange(agent.PresenceONLINE)

		b.Connected(ten.ID, owner.ID)
		b.Disconnected(ten.ID, owner.ID)
		time.Sleep(4 * grace)
		require.Equal(t, agent.PresenceONLINE, presenceNow(), "still connected to A")

		// as if swept while A stalled past the lease: A's next renewal brings the agent back
		require.NoError(t, db.Client.Agent.UpdateOneID(owner.ID).SetPresence(agent.PresenceOFFLINE).Exec(viewer.System(ctx, ten.ID)))
		nextChange(agent.PresenceONLINE)

		a.Disconnected(ten.ID, owner.ID)
		nextChange(agent.PresenceOFFLINE)

		a.Connected(ten.ID, owner.ID)
		nextChange(agent.PresenceONLINE)
		stopA() // A dies with the connection open: B sweeps the lapsed lease
		nextChange(agent.PresenceOFFLINE)

		time.Sleep(2 * grace)
		select {
		case e := <-sub.Events():
			t.Fatalf("unexpected event %s after %d changes: each change is published once", e.Type, changes)
		default:
		}
	})
}

// Reports give each agent's time online and away from their presence
// changes, clipped to the tenant's local days and to now (a moved clock):
// connected at 23:30 in Berlin, away from 00:30 to 01:00, online again
// until the report at 01:45.
func TestPresenceTimeIsReportedPerLocalDay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ten, owner, err := tenant.Create(ctx, db.Client, tenant.Input{
			Name: "Acme", Slug: "acme", OwnerName: "Owner", OwnerEmail: "owner@acme.test", OwnerPassword: "correct horse battery",
		})
		require.NoError(t, err)
		sys := viewer.System(ctx, ten.ID)
		require.NoError(t, db.Client.Tenant.UpdateOneID(ten.ID).SetTimezone("Europe/Berlin").Exec(viewer.Platform(ctx)))
		clk := clock.NewFake(time.Date(2026, 11, 10, 22, 30, 0, 0, time.UTC)) // 23:30 in Berlin
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		tr := presence.NewTracker(db.Client, nil, 24*time.Hour, clk, log) // no Run: the lease holds all along
		self := viewer.NewContext(ctx, &viewer.Viewer{Kind: viewer.KindAgent, TenantID: ten.ID, AgentID: owner.ID, Roles: owner.Roles})

		tr.Connected(ten.ID, owner.ID)
		clk.Advance(time.Hour)
		_, err = tr.Set(self, true)
		require.NoError(t, err)
		_, err = tr.Set(self, true) // already away: nothing more
		require.NoError(t, err)
		clk.Advance(30 * time.Minute)
		a, err := tr.Set(self, false)
		require.NoError(t, err)
		require.Equal(t, agent.PresenceONLINE, a.Presence)
		clk.Advance(45 * time.Minute)

		svc := report.NewService(db.Client, clk)
		type times struct{ online, away int }
		run := func(dim report.Dimension) (days []times, total times) {
			r, err := svc.Run(sys, report.Query{From: "2026-11-10", To: "2026-11-12", Bucket: report.Day, Dimension: dim})
			require.NoError(t, err)
			require.Len(t, r.Totals, 1)
			for _, row := range r.Buckets {
				days = append(days, times{row.OnlineSeconds, row.AwaySeconds})
			}
			return days, times{r.Totals[0].OnlineSeconds, r.Totals[0].AwaySeconds}
		}
		for _, dim := range []report.Dimension{report.Agent, report.Tenant} {
			days, total := run(dim)
			require.Equal(t, []times{{1800, 0}, {1800 + 2700, 1800}, {0, 0}}, days, dim)
			require.Equal(t, times{6300, 1800}, total, dim)
		}

		// Later, the open interval has grown; disabling the agent ends it.
		clk.Advance(15 * time.Minute)
		require.NoError(t, report.TrackPresence(sys, db.Client, ten.ID, owner.ID, "OFFLINE", clk.Now()))
		clk.Advance(time.Hour)
		days, total := run(report.Agent)
		require.Equal(t, []times{{1800, 0}, {1800 + 3600, 1800}, {0, 0}}, days)
		require.Equal(t, times{7200, 1800}, total)
	})
}
