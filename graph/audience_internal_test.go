package graph

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/inbox"
	"github.com/switchboard-dev/switchboard/number"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// The in-memory audience never hides a conversation event from a subscriber
// who could load it: random row scopes, number memberships, conversations,
// assignments, transfers and membership changes, made through the services
// that publish in production; after each change, every event it published
// is decided in memory for every subscriber and compared with what the
// privacy rules let that subscriber load at that moment.
func TestAudienceNeverHidesWhatTheSubscriberCouldLoad(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 16))
			db := storetest.Open(t, d)
			testAudience(t, db, rng)
		})
	}
}

func testAudience(t *testing.T, db *store.DB, rng *rand.Rand) {
	client := db.Client
	platform := viewer.Platform(t.Context())
	tenant := client.Tenant.Create().SetName("Acme").SetSlug("acme-" + strconv.FormatUint(rng.Uint64()%1e9, 10)).SaveX(platform)
	sys := viewer.System(t.Context(), tenant.ID)

	bus := realtime.NewMemory(realtime.WithBuffer(1 << 12))
	t.Cleanup(func() { _ = bus.Close() })
	sub, err := bus.Subscribe(t.Context(), tenant.ID)
	require.NoError(t, err)
	pub := realtime.NewPublisher(bus, slog.Default())
	box, err := credential.NewBox([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	conversations := inbox.NewService(client, pub, nil, clock.Real())
	numbers := number.NewService(client, pub, box, clock.Real())

	var nums []*ent.Number
	for i := range 3 {
		nums = append(nums, client.Number.Create().SetPhone("+3361000000"+strconv.Itoa(i)).SetDisplayName("N"+strconv.Itoa(i)).SaveX(sys))
	}
	var agents []*ent.Agent
	for i := range 5 {
		c := client.Agent.Create().SetName("A" + strconv.Itoa(i)).SetEmail("a" + strconv.Itoa(i) + "@acme.test").SetPasswordHash("x")
		for _, n := range nums {
			if rng.IntN(2) == 0 {
				c.AddNumberIDs(n.ID)
			}
		}
		agents = append(agents, c.SaveX(sys))
	}
	contact := client.Contact.Create().SetWaID("33700000001").SaveX(sys)

	// Subscribers: each agent with each row scope short of everything (the
	// whole scope never skips), plus an API key (no agent).
	type subscriber struct {
		ctx context.Context // what it could load: its scope as a request would see it
		aud *audience
		// pinned: a live connection's viewer, numbers pinned at admission;
		// an AgentChanged event naming it re-admits it (graph.FollowPolicy).
		pinned bool
		// admitted: the viewer its execution runs with.
		admitted *viewer.Viewer
	}
	admit := func(s *subscriber) {
		actx := s.ctx
		if s.pinned {
			var err error
			actx, _, err = pinNumbers(s.ctx, client, viewer.FromContext(s.ctx))
			require.NoError(t, err)
		}
		s.admitted = viewer.FromContext(actx)
		aud, err := newAudience(actx, client)
		require.NoError(t, err)
		s.aud = aud
	}
	var subs []subscriber
	scopes := []viewer.Scope{
		{AssignedConversations: true}, {NumberConversations: true},
		{AssignedConversations: true, NumberConversations: true}, {},
	}
	for _, a := range agents {
		for _, s := range scopes {
			for _, pinned := range []bool{false, true} {
				ctx := viewer.NewContext(t.Context(), &viewer.Viewer{Kind: viewer.KindAgent, TenantID: tenant.ID, AgentID: a.ID, Scope: s})
				sub := subscriber{ctx: ctx, pinned: pinned}
				admit(&sub)
				subs = append(subs, sub)
			}
		}
	}
	keyCtx := viewer.NewContext(t.Context(), &viewer.Viewer{Kind: viewer.KindAPIKey, TenantID: tenant.ID, APIKeyID: "key_1",
		Scope: viewer.Scope{AssignedConversations: true, NumberConversations: true}})
	keyAud, err := newAudience(keyCtx, client)
	require.NoError(t, err)
	subs = append(subs, subscriber{ctx: keyCtx, aud: keyAud, admitted: viewer.FromContext(keyCtx)})

	var convs []string
	pick := func() *string {
		if rng.IntN(4) == 0 {
			return nil
		}
		return &agents[rng.IntN(len(agents))].ID
	}
	decided, skipped := 0, 0
	for step := range 150 {
		switch op := rng.IntN(6); {
		case op == 0 || len(convs) == 0: // a customer writes in on a number
			tx, err := client.Tx(sys)
			require.NoError(t, err)
			c := tx.Conversation.Create().SetNumberID(nums[rng.IntN(len(nums))].ID).SetContactID(contact.ID)
			if a := pick(); a != nil && rng.IntN(2) == 0 {
				c.SetAssigneeID(*a)
			}
			conv := c.SaveX(sys)
			pub.OnCommit(tx, realtime.ConversationEvent(tenant.ID, conv.ID, realtime.KindCreated))
			require.NoError(t, tx.Commit())
			convs = append(convs, conv.ID)
		case op == 1:
			_, err = conversations.Assign(sys, convs[rng.IntN(len(convs))], pick())
			require.NoError(t, err)
		case op == 2:
			if a := pick(); a != nil {
				_, err = conversations.Transfer(sys, convs[rng.IntN(len(convs))], a, nil)
				require.NoError(t, err)
			}
		case op == 3:
			_, err = conversations.SetStatus(sys, convs[rng.IntN(len(convs))], conversation.StatusPENDING, nil)
			require.NoError(t, err)
		default: // someone joins or leaves a number
			in := ent.UpdateNumberInput{}
			a := agents[rng.IntN(len(agents))].ID
			if rng.IntN(2) == 0 {
				in.AddMemberIDs = []string{a}
			} else {
				in.RemoveMemberIDs = []string{a}
			}
			_, err = numbers.Update(sys, nums[rng.IntN(len(nums))].ID, in)
			require.NoError(t, err)
		}
		// Every event of the step, in order, as each subscriber's stream
		// would see it; the database as it is now is the state they carry.
		for drained := false; !drained; {
			select {
			case e := <-sub.Events():
				for i := range subs {
					s := &subs[i]
					if e.Type == realtime.AgentChanged {
						if s.pinned && viewer.FromContext(s.ctx).AgentID == e.Subject {
							admit(s)
						}
						require.NoError(t, s.aud.changed(s.ctx, e.Subject))
						continue
					}
					if e.Type != realtime.ConversationChanged {
						continue
					}
					c := e.Change()
					require.NotEmpty(t, c.NumberID, "step %d: %s %s has no audience", step, c.Kind, e.Subject)
					visible, err := client.Conversation.Query().Where(conversation.ID(e.Subject)).Exist(s.ctx)
					require.NoError(t, err)
					if decidesInMemory(s.admitted.Scope) {
						// The per-event read (eventRows) decides in memory too.
						row := client.Conversation.GetX(sys, e.Subject)
						require.Equal(t, visible, visibleConversation(s.admitted, row),
							"step %d: the in-memory row scope of %+v disagrees with the database's on %+v", step, s.admitted, row)
					}
					concerns := s.aud.concerns(c)
					decided++
					if !concerns {
						skipped++
					}
					require.False(t, visible && !concerns, "step %d: %s of %s hidden from %+v though it may load it (change %+v)",
						step, c.Kind, e.Subject, viewer.FromContext(s.ctx), c)
				}
			case <-sub.Resync():
				t.Fatal("the test's subscription overflowed")
			default:
				drained = true
			}
		}
	}
	t.Logf("%d decisions, %d skipped in memory", decided, skipped)
	require.Positive(t, skipped, "the audience skipped nothing: it decides nothing")
}
