// Package demo fills an empty database with a demo tenant, so that the first
// `make run` shows a living inbox: numbers, agents with different roles,
// contacts, conversations with history, and two groups.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	entAgent "github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	entGroup "github.com/switchboard-dev/switchboard/ent/group"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	entTenant "github.com/switchboard-dev/switchboard/ent/tenant"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/tenant"
	"github.com/switchboard-dev/switchboard/viewer"
)

// The demo tenant's sign-in. It is a demo: the password is public.
const (
	Slug          = "demo"
	OwnerEmail    = "owner@demo.switchboard.local"
	OwnerPassword = "switchboard-demo"
)

// Login is how to sign in to the demo tenant.
type Login struct {
	Tenant   string
	Email    string
	Password string
}

// Seed creates the demo tenant unless it exists, and returns its login. On a
// database that holds other tenants but no demo one, it does nothing and
// returns nil: a production database is never seeded.
func Seed(ctx context.Context, client *ent.Client) (*Login, error) {
	var login *Login
	// The checks run in the transaction that seeds: on SQLite it holds the
	// write lock from its start; on PostgreSQL instances starting together
	// take turns on the migrations' lock (store.DB.Exclusive, app.New).
	err := store.WithTx(ctx, client, func(ctx context.Context, tx *ent.Tx) error {
		pctx := viewer.Platform(ctx)
		if ok, err := tx.Tenant.Query().Where(entTenant.Slug(Slug)).Exist(pctx); err != nil || ok {
			login = &Login{Tenant: Slug, Email: OwnerEmail, Password: OwnerPassword}
			return err
		}
		if n, err := tx.Tenant.Query().Count(pctx); err != nil || n > 0 {
			return err
		}
		t, _, err := tenant.Create(ctx, tx.Client(), tenant.Input{
			Name: "Acme Retail (demo)", Slug: Slug, Timezone: "Europe/Paris",
			OwnerName: "Olivia Owner", OwnerEmail: OwnerEmail, OwnerPassword: OwnerPassword,
		})
		if err != nil {
			return err
		}
		login = &Login{Tenant: Slug, Email: OwnerEmail, Password: OwnerPassword}
		return seed(viewer.System(ctx, t.ID), tx)
	})
	if err != nil {
		return nil, fmt.Errorf("seed demo tenant: %w", err)
	}
	return login, nil
}

func seed(ctx context.Context, tx *ent.Tx) error {
	rng := rand.New(rand.NewPCG(42, 103))
	now := time.Now()
	if err := tx.Tenant.UpdateOneID(viewer.FromContext(ctx).TenantID).SetSettings(schematype.TenantSettings{
		BusinessHours: weekdays("09:00", "18:00"),
		RetentionDays: 365,
	}).Exec(ctx); err != nil {
		return err
	}

	numbers := make([]*ent.Number, 0, 3)
	for _, n := range []struct {
		phone, name string
		status      number.Status
		groups      number.GroupMode
	}{
		{"+33612345601", "Acme Paris", number.StatusCONNECTED, number.GroupModeCLOUD_API},
		// Lyon's simulated groups behave like the phone app's (large, members
		// added by number): the project group of 35 lives there.
		{"+33612345602", "Acme Lyon", number.StatusCONNECTED, number.GroupModeAPP},
		{"+4915112345603", "Acme Berlin", number.StatusDISCONNECTED, number.GroupModeCLOUD_API},
	} {
		num, err := tx.Number.Create().
			SetPhone(n.phone).SetDisplayName(n.name).SetProvider(number.ProviderSim).SetGroupMode(n.groups).
			SetPhoneNumberID(n.phone[1:]).SetStatus(n.status).SetQuality(number.QualityGREEN).
			SetMessagingTier("TIER_1K").SetLastSeenAt(now).
			// The seed made these ids up for the simulator, so they are the
			// demo's: verified, like a number whose token the provider
			// confirmed (the in-process simulator serves them).
			SetVerifiedAt(now).
			Save(ctx)
		if err != nil {
			return err
		}
		numbers = append(numbers, num)
	}

	sales, err := tx.Team.Create().SetName("Sales").SetDescription("Orders and quotes").Save(ctx)
	if err != nil {
		return err
	}
	support, err := tx.Team.Create().SetName("Support").SetDescription("After-sales care").Save(ctx)
	if err != nil {
		return err
	}

	agents := agent.NewService(tx.Client(), nil, nil, nil, clock.Real())
	type person struct {
		name, email, code, role string
		team                    *ent.Team
		numbers                 []*ent.Number
	}
	people := []person{
		{"Adam Admin", "admin", "", policy.RoleAdmin, nil, numbers},
		{"Sofia Supervisor", "supervisor", "", policy.RoleSupervisor, support, numbers},
		{"Alex Martin", "alex", "101", policy.RoleAgent, sales, numbers[:2]},
		{"Bianca Rossi", "bianca", "102", policy.RoleAgent, sales, numbers[1:]},
		{"Chen Wei", "chen", "103", policy.RoleAgent, support, numbers},
		{"Aude Auditor", "auditor", "", policy.RoleAuditor, nil, nil},
	}
	var answering []*ent.Agent
	for _, p := range people {
		in := agent.CreateInput{
			Name: p.name, Email: p.email + "@demo.switchboard.local", Password: OwnerPassword,
			Roles: []string{p.role}, NumberIDs: ids(p.numbers),
		}
		if p.code != "" {
			in.EmployeeCode = &p.code
		}
		if p.team != nil {
			in.TeamIDs = []string{p.team.ID}
		}
		a, err := agents.Create(ctx, in)
		if err != nil {
			return fmt.Errorf("agent %s: %w", p.email, err)
		}
		if p.role == policy.RoleAgent {
			answering = append(answering, a)
		}
	}

	contacts := make([]*ent.Contact, 0, len(customers))
	for i, name := range customers {
		tags := []string{}
		if i%4 == 0 {
			tags = append(tags, "vip")
		}
		if i%3 == 0 {
			tags = append(tags, "newsletter")
		}
		wa := fmt.Sprintf("336%08d", 10000000+i*7919)
		c, err := tx.Contact.Create().
			SetWaID(wa).SetPhone("+" + wa).SetProfileName(name).SetTags(tags).
			SetAttributes([]schematype.ContactAttribute{{
				Key: "last_purchase_at", Type: schematype.AttributeTime,
				Value: now.AddDate(0, 0, -rng.IntN(120)).UTC().Format(time.RFC3339),
			}}).
			SetOptIn("OPTED_IN").SetOptInSource("checkout").SetOptInAt(now.AddDate(0, -6, 0)).
			Save(ctx)
		if err != nil {
			return err
		}
		contacts = append(contacts, c)
	}

	statuses := []conversation.Status{
		conversation.StatusOPEN, conversation.StatusOPEN, conversation.StatusOPEN,
		conversation.StatusPENDING, conversation.StatusRESOLVED, conversation.StatusSNOOZED,
	}
	for i, c := range contacts[:18] {
		num := numbers[i%2] // the two connected numbers carry the traffic
		if err := seedConversation(ctx, tx, rng, now, num, c, answering, statuses[i%len(statuses)], i); err != nil {
			return err
		}
	}
	return seedGroups(ctx, tx, numbers[0], numbers[1])
}

func seedConversation(ctx context.Context, tx *ent.Tx, rng *rand.Rand, now time.Time, num *ent.Number, c *ent.Contact,
	answering []*ent.Agent, status conversation.Status, i int) error {
	start := now.Add(-time.Duration(2+i*3) * time.Hour)
	create := tx.Conversation.Create().
		SetNumberID(num.ID).SetContactID(c.ID).SetStatus(status).SetCreatedAt(start)
	var assignee *ent.Agent
	if i%3 != 2 { // every third conversation waits unassigned
		assignee = answering[i%len(answering)]
		create.SetAssigneeID(assignee.ID)
	}
	switch status {
	case conversation.StatusSNOOZED:
		create.SetSnoozedUntil(now.Add(4 * time.Hour))
	case conversation.StatusRESOLVED:
		create.SetResolvedAt(now.Add(-time.Hour))
	}
	conv, err := create.Save(ctx)
	if err != nil {
		return err
	}
	script := scripts[i%len(scripts)]
	msgs := make([]*ent.MessageCreate, 0, len(script))
	at := start
	var firstResponse, lastCustomer *time.Time
	for j, line := range script {
		at = at.Add(time.Duration(1+rng.IntN(9)) * time.Minute)
		m := tx.Message.Create().
			SetConversationID(conv.ID).SetNumberID(num.ID).SetKind(message.KindTEXT).
			SetBody(line).SetCreatedAt(at).SetProviderMessageID(fmt.Sprintf("wamid.demo.%d.%d", i, j))
		inbound := j%2 == 0
		if inbound || assignee == nil {
			t := at
			lastCustomer = &t
			m.SetDirection(message.DirectionINBOUND).SetStatus(message.StatusRECEIVED)
		} else {
			t := at
			if firstResponse == nil {
				firstResponse = &t
			}
			m.SetDirection(message.DirectionOUTBOUND).SetStatus(message.StatusREAD).
				SetSenderID(assignee.ID).SetSentAt(at).SetDeliveredAt(at).SetReadAt(at.Add(time.Minute))
		}
		msgs = append(msgs, m)
	}
	saved, err := tx.Message.CreateBulk(msgs...).Save(ctx)
	if err != nil {
		return err
	}
	last := saved[len(saved)-1]
	unread := 0
	if last.Direction == message.DirectionINBOUND && status == conversation.StatusOPEN {
		unread = 1 + i%3
	}
	return conv.Update().
		SetLastMessageID(last.ID).SetLastMessageAt(last.CreatedAt).
		SetNillableLastCustomerMessageAt(lastCustomer).SetNillableFirstResponseAt(firstResponse).
		SetUnreadCount(unread).
		Exec(ctx)
}

// Subjects of the demo's two groups.
const (
	ProjectGroup = "Project Atlas"
	ParentsGroup = "Parents of 5B"
)

// seedGroups seeds the seeds' two groups, as asked for at the provider
// (CREATING): the simulator creates them when it starts (app.simulator),
// its webhooks bring their ids and invite links, and its simulated
// customers join or ask to. The project group, announcements only (admins
// post, members reply to announcements), is on appNumber, whose simulated
// groups behave like the phone app's: its 35 members would not fit the
// Cloud API's 8 participants (README, "Groups"). The parents' group is a
// Cloud API group whose joins need the approval of one of its 3 admins.
func seedGroups(ctx context.Context, tx *ent.Tx, cloudNumber, appNumber *ent.Number) error {
	adminOf := func(names ...string) ([]string, error) {
		emails := make([]string, len(names))
		for i, n := range names {
			emails[i] = n + "@demo.switchboard.local"
		}
		return tx.Agent.Query().Where(entAgent.EmailIn(emails...)).IDs(ctx)
	}
	projectAdmins, err := adminOf("admin", "supervisor")
	if err != nil {
		return err
	}
	parentsAdmins, err := adminOf("owner", "admin", "supervisor")
	if err != nil {
		return err
	}
	if err := tx.Group.Create().
		SetNumberID(appNumber.ID).SetSubject(ProjectGroup).
		SetDescription("Announcements for the Atlas store opening").
		SetSendMessages(schematype.AudienceAdmins).SetMembersReplyToAdminsOnly(true).
		SetMemberLimit(64).SetState(entGroup.StateCREATING).AddAdminIDs(projectAdmins...).
		Exec(ctx); err != nil {
		return err
	}
	return tx.Group.Create().
		SetNumberID(cloudNumber.ID).SetSubject(ParentsGroup).
		SetDescription("Class news and outings").
		SetJoinApproval(true).SetAddMembers(schematype.AudienceAdmins).SetMemberLimit(8).
		SetState(entGroup.StateCREATING).AddAdminIDs(parentsAdmins...).
		Exec(ctx)
}

func weekdays(open, close string) []schematype.BusinessHours {
	out := make([]schematype.BusinessHours, 0, 5)
	for d := 1; d <= 5; d++ {
		out = append(out, schematype.BusinessHours{Weekday: d, Open: open, Close: close})
	}
	return out
}

func ids(ns []*ent.Number) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

var customers = []string{
	"Camille Durand", "Lucas Bernard", "Emma Petit", "Hugo Moreau", "Léa Laurent", "Louis Simon",
	"Chloé Michel", "Gabriel Garcia", "Manon Thomas", "Arthur Robert", "Inès Richard", "Jules Dubois",
	"Sarah Fontaine", "Nathan Chevalier", "Zoé Lambert", "Tom Girard", "Alice Bonnet", "Paul Rousseau",
	"Jade Vincent", "Noah Muller", "Lina Faure", "Ethan André", "Rose Mercier", "Adam Blanc",
}

var scripts = [][]string{
	{"Hello, is my order 4417 shipped?", "Hi! Yes, it left our warehouse this morning.", "Great, thanks!"},
	{"Do you have the blue jacket in size M?", "Let me check for you.", "Any news?", "Yes, we have two left in Lyon."},
	{"I'd like to return a pair of shoes", "Of course. Do you still have the receipt?", "Yes, photo attached", "Perfect, I've opened the return."},
	{"What are your opening hours on Sunday?", "We're open 10:00 to 13:00 on Sundays."},
	{"My discount code doesn't work", "Sorry about that! Which code are you using?", "SPRING20", "It expired yesterday; here is a new one: SPRING20B", "Works now, thank you"},
	{"Can I change the delivery address?", "Sure, what's the new address?", "12 rue des Lilas, Paris"},
}
