package mixed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/tenant"
	"github.com/switchboard-dev/switchboard/viewer"
)

// bulk is how many rows one INSERT carries while seeding.
const bulk = 500

// seedTenant makes the tenant of shape through the App's client, as the
// system: numbers with Meta ids, agents (agent role, agent i a member of
// number i mod Numbers), supervisors, one customer and one open
// conversation per assignment (conversation j assigned to agent j mod
// Agents, on that agent's number), and a session and access token for every
// agent and supervisor. Agents are written in bulk with one password hash
// and signed in without a password check: argon2 for each of 1,000 agents
// would cost a minute of the machine, and sign-in is not what is measured.
func seedTenant(ctx context.Context, a *app.App, shape Shape) (*Seed, error) {
	c := a.DB.Client
	ten, _, err := tenant.Create(ctx, c, tenant.Input{Name: "Bench", Slug: "bench", OwnerName: "Owner",
		OwnerEmail: "owner@bench.test", OwnerPassword: "correct horse battery"})
	if err != nil {
		return nil, fmt.Errorf("tenant: %w", err)
	}
	sys := viewer.System(ctx, ten.ID)
	seed := &Seed{AppSecret: appSecret}
	var numberIDs []string
	for i := range shape.Numbers {
		n := Number{PhoneNumberID: fmt.Sprint(900000001 + i), DisplayPhone: fmt.Sprint(33610000001 + i)}
		num, err := c.Number.Create().SetPhone("+" + n.DisplayPhone).SetDisplayName(fmt.Sprintf("Line %d", i+1)).
			SetPhoneNumberID(n.PhoneNumberID).SetVerifiedAt(time.Now()).Save(sys) // verified: webhooks route only to verified numbers
		if err != nil {
			return nil, fmt.Errorf("number: %w", err)
		}
		n.ID = num.ID
		seed.Numbers = append(seed.Numbers, n)
		numberIDs = append(numberIDs, num.ID)
	}
	hash, err := auth.HashPassword("bench password")
	if err != nil {
		return nil, err
	}
	if seed.Agents, err = seedPeople(sys, c, hash, policy.RoleAgent, shape.Agents, numberIDs); err != nil {
		return nil, err
	}
	if seed.Supervisors, err = seedPeople(sys, c, hash, policy.RoleSupervisor, shape.Supervisors, nil); err != nil {
		return nil, err
	}
	if seed.Conversations, err = seedConversations(sys, c, seed.Agents, shape.Agents*shape.PerAgent, numberIDs); err != nil {
		return nil, err
	}
	tokens, err := auth.NewTokens(a.Config.Secret, a.Config.AccessTokenTTL, a.Clock)
	if err != nil {
		return nil, err
	}
	if err := signIn(sys, c, tokens, ten.ID, seed.Agents, policy.RoleAgent); err != nil {
		return nil, err
	}
	if err := signIn(sys, c, tokens, ten.ID, seed.Supervisors, policy.RoleSupervisor); err != nil {
		return nil, err
	}
	return seed, nil
}

// seedPeople creates n agents with role; with numbers, person i is a member
// of numbers[i mod len(numbers)].
func seedPeople(ctx context.Context, c *ent.Client, hash, role string, n int, numbers []string) ([]Person, error) {
	var out []Person
	for lo := 0; lo < n; lo += bulk {
		var creates []*ent.AgentCreate
		for i := lo; i < min(lo+bulk, n); i++ {
			create := c.Agent.Create().SetName(fmt.Sprintf("%s %d", role, i+1)).SetEmail(fmt.Sprintf("%s%d@bench.test", role, i+1)).
				SetPasswordHash(hash).SetRoles([]string{role}).SetMaxConcurrent(1000)
			p := Person{Number: -1}
			if len(numbers) > 0 {
				p.Number = i % len(numbers)
				create.AddNumberIDs(numbers[p.Number])
			}
			creates = append(creates, create)
			out = append(out, p)
		}
		made, err := c.Agent.CreateBulk(creates...).Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", role, err)
		}
		for i, m := range made {
			out[lo+i].ID = m.ID
		}
	}
	return out, nil
}

// seedConversations opens n conversations, conversation j with its own
// customer, assigned to agent j mod len(agents) on that agent's number.
func seedConversations(ctx context.Context, c *ent.Client, agents []Person, n int, numbers []string) ([]Conversation, error) {
	var out []Conversation
	for lo := 0; lo < n; lo += bulk {
		var contacts []*ent.ContactCreate
		for j := lo; j < min(lo+bulk, n); j++ {
			wa := fmt.Sprint(33700000001 + j)
			contacts = append(contacts, c.Contact.Create().SetWaID(wa).SetPhone("+"+wa).SetProfileName(fmt.Sprintf("Customer %d", j+1)))
			out = append(out, Conversation{Assignee: j % len(agents), Number: agents[j%len(agents)].Number, WaID: wa})
		}
		made, err := c.Contact.CreateBulk(contacts...).Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("contacts: %w", err)
		}
		var convs []*ent.ConversationCreate
		for i, ct := range made {
			cv := out[lo+i]
			convs = append(convs, c.Conversation.Create().SetContactID(ct.ID).SetNumberID(numbers[cv.Number]).
				SetAssigneeID(agents[cv.Assignee].ID))
		}
		opened, err := c.Conversation.CreateBulk(convs...).Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("conversations: %w", err)
		}
		for i, cv := range opened {
			out[lo+i].ID = cv.ID
		}
	}
	return out, nil
}

// signIn opens a session for each person, who holds role, and gives them
// its access token, as a sign-in would.
func signIn(ctx context.Context, c *ent.Client, tokens *auth.Tokens, tenantID string, people []Person, role string) error {
	for lo := 0; lo < len(people); lo += bulk {
		var creates []*ent.SessionCreate
		for _, p := range people[lo:min(lo+bulk, len(people))] {
			creates = append(creates, c.Session.Create().SetAgentID(p.ID).SetRefreshHash(randomHex()).
				SetUserAgent("bench-mixed").SetIP("127.0.0.1").SetExpiresAt(time.Now().Add(24*time.Hour)))
		}
		sessions, err := c.Session.CreateBulk(creates...).Save(ctx)
		if err != nil {
			return fmt.Errorf("sessions: %w", err)
		}
		for i, s := range sessions {
			p := &people[lo+i]
			if p.Token, _, err = tokens.Issue(tenantID, p.ID, s.ID, []string{role}); err != nil {
				return err
			}
		}
	}
	return nil
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
