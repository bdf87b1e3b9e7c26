package app

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/group"
	"github.com/switchboard-dev/switchboard/ent/groupmember"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

// simulator is the Cloud API simulator run inside the server for the demo,
// under /sim/: it serves the sim numbers, posts its webhooks back to
// /webhooks/whatsapp, has simulated customers write in, and takes one number
// offline now and then.
type simulator struct {
	sim  *sim.Simulator
	base string   // how the simulator reaches this instance
	ids  []string // the connected sim numbers' phone number ids
	log  *slog.Logger
	db   *ent.Client
	app  *App
}

// newSimulator builds the simulator and gives the demo's sim numbers their
// tokens (a start-up write).
func newSimulator(ctx context.Context, a *App) (*simulator, error) {
	cfg := a.Config
	base := "http://127.0.0.1" + cfg.Addr[strings.LastIndex(cfg.Addr, ":"):]
	s, err := sim.New(sim.Config{
		WebhookURL: base + "/webhooks/whatsapp",
		AppSecret:  string(cfg.WhatsAppAppSecret),
		StatusDelays: sim.StatusDelays{
			Sent: 300 * time.Millisecond, Delivered: 1500 * time.Millisecond, Read: 6 * time.Second,
		},
		SkipDelivered: 0.1,
	})
	if err != nil {
		return nil, err
	}
	out := &simulator{sim: s, base: base, log: a.Log, db: a.DB.Client, app: a}
	client := a.DB.Client
	nums, err := client.Number.Query().Where(number.ProviderEQ(number.ProviderSim), number.PhoneNumberIDNotNil(), number.UnlinkedAtIsNil()).All(viewer.Platform(ctx))
	if err != nil {
		s.Close()
		return nil, err
	}
	for _, n := range nums {
		// A fresh token each start: the simulator serves the number with it,
		// so no one else can prove the number with a token read in the source.
		token := "sim-token-" + crand.Text()
		groupMode := sim.GroupModeCloud
		if n.GroupMode == number.GroupModeAPP {
			groupMode = sim.GroupModeApp
		}
		if err := s.AddNumber(sim.Number{PhoneNumberID: *n.PhoneNumberID, Token: token, DisplayPhone: n.Phone[1:],
			VerifiedName: n.DisplayName, Throughput: n.Throughput, Status: string(n.Status), GroupMode: groupMode}); err != nil {
			s.Close()
			return nil, err
		}
		sealed, err := a.Box.Seal(credential.Credentials{AccessToken: token}, n.ID)
		if err != nil {
			s.Close()
			return nil, err
		}
		n, err = client.Number.UpdateOne(n).SetCredentials(sealed).Save(viewer.System(ctx, n.TenantID))
		if err != nil {
			s.Close()
			return nil, err
		}
		// The simulator serves the number with that token: the proof a
		// health read would bring, without waiting for one (demo data
		// seeded before numbers were verified).
		if err := a.Services.Numbers.Proven(ctx, n); err != nil {
			s.Close()
			return nil, fmt.Errorf("verify the demo number %s: %w", n.ID, err)
		}
		if n.Status == number.StatusCONNECTED {
			out.ids = append(out.ids, *n.PhoneNumberID)
		}
	}
	return out, nil
}

// start has the customers of open demo conversations write once more (the
// simulator starts with no history: that opens their 24-hour window there),
// then new customers write in until ctx ends.
func (s *simulator) start(ctx context.Context) error {
	if len(s.ids) == 0 {
		return nil
	}
	convs, err := s.db.Conversation.Query().
		Where(conversation.StatusNEQ(conversation.StatusRESOLVED), conversation.HasNumberWith(number.PhoneNumberIDIn(s.ids...))).
		WithContact().WithNumber().All(viewer.Platform(ctx))
	if err != nil {
		return err
	}
	go func() {
		for _, c := range convs {
			_, _ = s.sim.WriteIn(*c.Edges.Number.PhoneNumberID, c.Edges.Contact.WaID, whatsapp.Message{
				Type: "text", Text: "Are you there?", ProfileName: c.Edges.Contact.ProfileName,
			})
		}
	}()
	if err := s.createGroups(ctx); err != nil {
		return err
	}
	if err := s.sim.StartCustomers(ctx, 0.2, s.ids...); err != nil {
		return err
	}
	go flapNumbers(ctx, s.sim, s.ids, s.log)
	s.log.Info("simulator: serving the demo numbers", "numbers", len(s.ids), "api", s.base+"/sim")
	return nil
}

// flapNumbers takes a random number offline for half a minute every few
// minutes, so the dashboard has something to show.
func flapNumbers(ctx context.Context, s *sim.Simulator, ids []string, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(2+rand.IntN(3)) * time.Minute):
		}
		id := ids[rand.IntN(len(ids))]
		log.Info(fmt.Sprintf("simulator: number %s goes offline for 30s", id))
		_ = s.SetStatus(id, "DISCONNECTED")
		select {
		case <-ctx.Done():
			return
		case <-time.After(30 * time.Second):
		}
		_ = s.SetStatus(id, "CONNECTED")
	}
}

// createGroups asks the simulator for the demo's groups (seeded CREATING:
// the simulator starts empty), then has simulated customers join the
// announcement group and ask to join the one that needs approval.
func (s *simulator) createGroups(ctx context.Context) error {
	pctx := viewer.Platform(ctx)
	// The simulator starts empty: groups it made in an earlier run, or was
	// asked for (a request id whose webhook never came), are made again
	// (their members rejoin below).
	known, err := s.db.Group.Query().Where(
		group.Or(group.ProviderGroupIDNotNil(), group.CreateRequestIDNotNil()), group.StateNEQ(group.StateDELETED),
		group.HasNumberWith(number.PhoneNumberIDIn(s.ids...))).All(pctx)
	if err != nil {
		return err
	}
	for _, g := range known {
		if g.ProviderGroupID != nil {
			if _, err := s.sim.Group(*g.ProviderGroupID); err == nil {
				continue
			}
		}
		sctx := viewer.System(ctx, g.TenantID)
		if _, err := s.db.GroupMember.Delete().Where(groupmember.GroupID(g.ID)).Exec(sctx); err != nil {
			return err
		}
		if err := s.db.Group.UpdateOne(g).SetState(group.StateCREATING).ClearProviderGroupID().ClearCreateRequestID().
			ClearInviteLink().Exec(sctx); err != nil {
			return err
		}
	}
	groups, err := s.db.Group.Query().Where(group.StateEQ(group.StateCREATING), group.CreateRequestIDIsNil(),
		group.HasNumberWith(number.PhoneNumberIDIn(s.ids...))).WithNumber().All(pctx)
	if err != nil || len(groups) == 0 {
		return err
	}
	for _, g := range groups {
		// Unique while waiting (GroupOpArgs.InsertOpts): a creation still
		// queued from before a restart is not asked twice.
		args := connector.GroupOpArgs{TenantID: g.TenantID, GroupID: g.ID, Op: connector.GroupOpCreate}
		if _, err := s.app.Jobs.River().Insert(ctx, args, nil); err != nil {
			return err
		}
	}
	go s.fillGroups(ctx, groups)
	return nil
}

// DemoProjectMembers is how many simulated members join the demo's
// announcement group (Project Atlas, on a number whose simulated groups
// behave like the phone app's: the Cloud API would stop at 8).
const DemoProjectMembers = 35

// fillGroups waits for the groups to be created, then has simulated
// customers join them: the announcement group fills up, the one that needs
// approval gets 3 requests for its admins.
func (s *simulator) fillGroups(ctx context.Context, groups []*ent.Group) {
	pctx := viewer.Platform(ctx)
	deadline := time.Now().Add(time.Minute)
	for _, g := range groups {
		num := g.Edges.Number
		for time.Now().Before(deadline) {
			cur, err := s.db.Group.Get(pctx, g.ID)
			if err == nil && cur.State == group.StateACTIVE && cur.InviteLink != "" {
				g = cur
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		if g.InviteLink == "" {
			s.log.Warn("simulator: demo group not created", "group", g.ID)
			continue
		}
		n := min(DemoProjectMembers, g.MemberLimit)
		if g.JoinApproval {
			n = 3 // pending requests for the admins
		}
		joiners := sim.Customers()
		for i := len(joiners); len(joiners) < n; i++ {
			joiners[fmt.Sprintf("1555021%04d", i)] = fmt.Sprintf("Team member %d", i+1)
		}
		i := 0
		for waID, name := range joiners {
			if i == n {
				break
			}
			if _, err := s.sim.JoinGroup(g.InviteLink, waID, name); err == nil {
				i++
			}
		}
		if i < n {
			s.log.Warn("simulator: demo group not filled", "group", g.ID, "joined", i, "wanted", n, "number", num.ID)
		}
	}
}
