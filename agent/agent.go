// Package agent manages the people who sign in: agents, supervisors, owners,
// and the teams they form.
package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/report"
	"github.com/switchboard-dev/switchboard/routing"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Service creates, changes and disables agents.
type Service struct {
	client *ent.Client
	authz  *policy.Authorizer  // told when a change revokes tokens; nil while seeding
	pub    *realtime.Publisher // tells the other instances; nil while seeding
	router *routing.Service    // reassigns an offboarded agent's conversations; nil while seeding
	clock  clock.Clock
}

// NewService returns a Service over client that reads the time from clk.
func NewService(client *ent.Client, authz *policy.Authorizer, pub *realtime.Publisher, router *routing.Service, clk clock.Clock) *Service {
	return &Service{client: client, authz: authz, pub: pub, router: router, clock: clk}
}

// revoke makes the agent's tokens and live connections end once tx commits,
// on every instance.
func (s *Service) revoke(ctx context.Context, tx *ent.Tx, agentID string) {
	tenantID := viewer.FromContext(ctx).TenantID
	s.authz.InvalidateOnCommit(ctx, tx)
	s.pub.OnCommit(tx, realtime.PolicyChangedEvent(tenantID), realtime.AgentRevokedEvent(tenantID, agentID))
}

// CreateInput is a new agent.
type CreateInput struct {
	Name          string
	Email         string
	Password      string
	EmployeeCode  *string
	Roles         []string
	MaxConcurrent *int
	TeamIDs       []string
	NumberIDs     []string
}

// Create adds an agent to the viewer's tenant.
// Without roles the agent gets the agent role, which the viewer must hold
// every switch of like any role they grant (a tenant may have widened it).
func (s *Service) Create(ctx context.Context, in CreateInput) (*ent.Agent, error) {
	if err := auth.CheckNewPassword("password", in.Password); err != nil {
		return nil, err
	}
	roles := in.Roles
	if len(roles) == 0 {
		roles = []string{policy.RoleAgent}
		if err := policy.CheckRoles(ctx, s.client, roles); err != nil {
			return nil, err
		}
	} else if err := s.checkRoles(ctx, roles); err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Agent, error) {
		a, err := tx.Agent.Create().
			SetName(strings.TrimSpace(in.Name)).
			SetEmail(NormalizeEmail(in.Email)).
			SetPasswordHash(hash).
			SetNillableEmployeeCode(in.EmployeeCode).
			SetRoles(roles).
			SetNillableMaxConcurrent(in.MaxConcurrent).
			AddTeamIDs(in.TeamIDs...).
			AddNumberIDs(in.NumberIDs...).
			Save(ctx)
		if err != nil {
			return nil, err
		}
		return a, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionAgentCreated, TargetID: a.ID, Summary: fmt.Sprintf("created %s", a.Name),
			After: access{Roles: a.Roles, Teams: in.TeamIDs, Numbers: in.NumberIDs},
		})
	})
}

// access is what an agent's audit records digest: what the agent may reach.
type access struct {
	Roles   []string `json:"roles"`
	Teams   []string `json:"teams,omitempty"`
	Numbers []string `json:"numbers,omitempty"`
}

// UpdateInput changes an agent; nil fields stay as they are.
type UpdateInput struct {
	Name          *string
	Email         *string
	EmployeeCode  *string
	Roles         []string
	MaxConcurrent *int
	TeamIDs       []string // replaces the teams when not nil
	NumberIDs     []string // replaces the numbers when not nil
}

// Update changes an agent. A password is not changed here (auth's
// ChangePassword and password resets are). A new email ends the agent's
// sessions and is audited, and only someone holding every switch the agent
// holds may change it; new roles end their access tokens.
func (s *Service) Update(ctx context.Context, id string, in UpdateInput) (*ent.Agent, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Agent, error) {
		a, err := tx.Agent.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		u := a.Update()
		newEmail := in.Email != nil && NormalizeEmail(*in.Email) != a.Email
		if in.Name != nil {
			u.SetName(strings.TrimSpace(*in.Name))
		}
		if newEmail {
			if err := policy.CheckOutranks(ctx, tx.Client(), a.Roles); err != nil {
				return nil, err
			}
			u.SetEmail(NormalizeEmail(*in.Email))
		}
		if in.EmployeeCode != nil {
			u.SetEmployeeCode(*in.EmployeeCode)
		}
		if in.MaxConcurrent != nil {
			u.SetMaxConcurrent(*in.MaxConcurrent)
		}
		if in.Roles != nil {
			if err := s.checkRoles(ctx, in.Roles); err != nil {
				return nil, err
			}
			u.SetRoles(in.Roles)
		}
		if in.TeamIDs != nil {
			u.ClearTeams().AddTeamIDs(in.TeamIDs...)
		}
		if in.NumberIDs != nil {
			u.ClearNumbers().AddNumberIDs(in.NumberIDs...)
		}
		if newEmail || in.Roles != nil {
			// Tokens carry roles: with new roles the old tokens stop working
			// and a refresh brings the new; a new email also ends every
			// session (below).
			u.SetTokensValidAfter(policy.RevocationInstant())
			s.revoke(ctx, tx, id)
		}
		if a, err = u.Save(ctx); err != nil {
			return nil, err
		}
		if in.MaxConcurrent != nil || in.TeamIDs != nil || in.NumberIDs != nil {
			s.pub.OnCommit(tx, realtime.AgentEvent(a.TenantID, a.ID))
		}
		if newEmail {
			if err := auth.RevokeAgentSessions(ctx, tx.Client(), id, s.clock.Now()); err != nil {
				return nil, err
			}
			if err := audit.Record(ctx, tx, audit.Event{
				Action: audit.ActionEmailChanged, TargetID: a.ID, After: a.Email,
				Summary: fmt.Sprintf("changed the email of %s; their sessions ended", a.Name),
			}); err != nil {
				return nil, err
			}
		}
		if in.Roles != nil {
			if err := policy.CheckTenantManaged(ctx, tx.Client()); err != nil {
				return nil, err
			}
		}
		return a, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionAgentUpdated, TargetID: a.ID, Summary: fmt.Sprintf("updated %s: %s", a.Name, changed(in)),
			After: access{Roles: a.Roles, Teams: in.TeamIDs, Numbers: in.NumberIDs},
		})
	})
}

// changed names the fields an update sets, never their values (a password).
func changed(in UpdateInput) string {
	var names []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"name", in.Name != nil}, {"email", in.Email != nil},
		{"employee code", in.EmployeeCode != nil}, {"roles", in.Roles != nil},
		{"capacity", in.MaxConcurrent != nil}, {"teams", in.TeamIDs != nil}, {"numbers", in.NumberIDs != nil},
	} {
		if f.set {
			names = append(names, f.name)
		}
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

// Disable stops an agent from signing in and ends their sessions. Their
// conversations and history stay. Disabling yourself is refused.
func (s *Service) Disable(ctx context.Context, id string) (*ent.Agent, error) {
	if v := viewer.FromContext(ctx); v != nil && v.AgentID == id {
		return nil, apperr.New(apperr.Conflict, "you cannot disable yourself")
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Agent, error) {
		a, err := tx.Agent.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if a.DisabledAt != nil {
			audit.Unchanged(ctx)
			return a, nil
		}
		if err := policy.CheckOutranks(ctx, tx.Client(), a.Roles); err != nil {
			return nil, err
		}
		now := policy.RevocationInstant()
		s.revoke(ctx, tx, id)
		if a, err = a.Update().SetDisabledAt(now).SetTokensValidAfter(now).SetPresence("OFFLINE").Save(ctx); err != nil {
			return nil, err
		}
		if err := report.TrackPresence(ctx, tx.Client(), a.TenantID, id, "OFFLINE", s.clock.Now()); err != nil {
			return nil, err
		}
		if err := auth.RevokeAgentSessions(ctx, tx.Client(), id, now); err != nil {
			return nil, err
		}
		if err := policy.CheckTenantManaged(ctx, tx.Client()); err != nil {
			return nil, err
		}
		return a, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionAgentDisabled, TargetID: a.ID, Summary: fmt.Sprintf("disabled %s", a.Name),
		})
	})
}

// Enable lets a disabled agent sign in again. Nobody re-enables someone
// holding a switch they do not hold.
func (s *Service) Enable(ctx context.Context, id string) (*ent.Agent, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Agent, error) {
		a, err := tx.Agent.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if a.DisabledAt == nil {
			audit.Unchanged(ctx)
			return a, nil
		}
		if err := policy.CheckOutranks(ctx, tx.Client(), a.Roles); err != nil {
			return nil, err
		}
		s.authz.InvalidateOnCommit(ctx, tx)
		s.pub.OnCommit(tx, realtime.PolicyChangedEvent(viewer.FromContext(ctx).TenantID))
		if a, err = a.Update().ClearDisabledAt().Save(ctx); err != nil {
			return nil, err
		}
		return a, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionAgentEnabled, TargetID: a.ID, Summary: fmt.Sprintf("enabled %s", a.Name),
		})
	})
}

// CreateTeam adds a team; agents join it through their own update.
func (s *Service) CreateTeam(ctx context.Context, in ent.CreateTeamInput) (*ent.Team, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Team, error) {
		t, err := tx.Team.Create().SetInput(in).Save(ctx)
		if err != nil {
			return nil, err
		}
		return t, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionTeamCreated, TargetID: t.ID, Summary: "created team " + t.Name, After: in,
		})
	})
}

// UpdateTeam changes a team, its members included (they see its
// conversations).
func (s *Service) UpdateTeam(ctx context.Context, id string, in ent.UpdateTeamInput) (*ent.Team, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Team, error) {
		t, err := tx.Team.UpdateOneID(id).SetInput(in).Save(ctx)
		if err != nil {
			return nil, err
		}
		return t, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionTeamUpdated, TargetID: t.ID, Summary: "updated team " + t.Name, After: in,
		})
	})
}

// NormalizeEmail lowercases and trims an email, the form it is stored and
// looked up in.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// checkRoles: roles must exist in the tenant, and choosing them is the
// role.manage switch's business, not agent.manage's, or an agent manager could
// make anyone an owner.
func (s *Service) checkRoles(ctx context.Context, roles []string) error {
	if !policy.Can(ctx, policy.RoleManage) {
		return apperr.New(apperr.Forbidden, "choosing roles needs the %s permission", policy.RoleManage)
	}
	return policy.CheckRoles(ctx, s.client, roles)
}
