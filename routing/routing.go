package routing

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/assignment"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/predicate"
	"github.com/switchboard-dev/switchboard/ent/schema"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/ent/tenant"
	"github.com/switchboard-dev/switchboard/pulid"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
)

// Service routes conversations. It is safe for concurrent use, and several
// instances may run one each over the same database.
type Service struct {
	client *ent.Client
	pub    *realtime.Publisher
	clock  clock.Clock
}

// New returns a Service over client that publishes what it does with pub.
func New(client *ent.Client, pub *realtime.Publisher, clk clock.Clock) *Service {
	return &Service{client: client, pub: pub, clock: clk}
}

// Decision is what routing did with a conversation.
type Decision struct {
	// AgentID is who got it; empty when it was queued or left alone.
	AgentID string
	// Queued is true when nobody could take it and it waits in the queue.
	Queued bool
	// Strategy is the step of the policy that chose the agent.
	Strategy schematype.RoutingStrategy
	// Reason says why, for people (the history and the ASSIGNED event).
	Reason string
}

// candidatesPerStep bounds how many agents one step of a policy tries when
// other instances claim the first ones' last places at the same moment.
const candidatesPerStep = 8

// Route routes one conversation in its own transaction (see RouteTx).
func (s *Service) Route(ctx context.Context, conversationID string) (Decision, error) {
	var d Decision
	err := store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		var err error
		d, err = s.RouteTx(ctx, tx, conversationID)
		return err
	})
	return d, err
}

// RouteTx gives an unassigned, unresolved conversation to an agent by its
// number's policy, inside tx; when nobody qualifies it queues the
// conversation. A conversation that is assigned, resolved, or on a manually
// routed number is left alone.
func (s *Service) RouteTx(ctx context.Context, tx *ent.Tx, conversationID string) (Decision, error) {
	conv, num, h, pg, err := lockForRouting(ctx, tx, conversationID)
	if err != nil {
		return Decision{}, fmt.Errorf("route %s: %w", conversationID, err)
	}
	if conv.AssigneeID != nil || conv.Status == conversation.StatusRESOLVED {
		return Decision{}, nil
	}
	if conv.ReservedForID != nil {
		return Decision{Queued: true, Reason: "reserved for the agent whose shift opens next"}, nil // HandOver gives it
	}
	pol := num.RoutingPolicy
	if pol.Manual() {
		return Decision{}, nil
	}
	if d, ok, err := s.reserve(ctx, tx, conv, num, pol, h); ok || err != nil {
		return d, err
	}
	// an arrival nobody holds, on Postgres: claim, assign and record in one
	// statement (s.claimAndGive)
	return s.place(ctx, tx, conv, num, pol, assignment.CausePOLICY, "", pg)
}

// routingRow is what RouteTx reads of a conversation, its number and its
// tenant.
type routingRow struct {
	ID            string              `json:"id"`
	TenantID      string              `json:"tenant_id"`
	NumberID      string              `json:"number_id"`
	ContactID     string              `json:"contact_id"`
	AssigneeID    *string             `json:"assignee_id"`
	Status        conversation.Status `json:"status"`
	QueuedAt      *time.Time          `json:"queued_at"`
	ReservedForID *string             `json:"reserved_for_id"`
	ReservedUntil *time.Time          `json:"reserved_until"`
	Policy        []byte              `json:"routing_policy"`
	NumberHours   []byte              `json:"number_hours"`
	Timezone      string              `json:"timezone"`
	Settings      []byte              `json:"settings"`
}

// lockForRouting reads, in one statement, conversationID (locked until tx
// ends, the number and tenant rows not), its number's policy and the
// business hours it keeps (NumberHours). conv and num hold only the fields
// routing reads: conv its ids, assignee, status, queue place and
// reservation; num its id, tenant, policy and hours. pg tells that tx is
// Postgres's.
func lockForRouting(ctx context.Context, tx *ent.Tx, conversationID string) (conv *ent.Conversation, num *ent.Number, h Hours, pg bool, err error) {
	var rows []routingRow
	err = tx.Conversation.Query().Where(conversation.ID(conversationID)).Modify(func(s *sql.Selector) {
		n, t := sql.Table(number.Table), sql.Table(tenant.Table)
		s.Join(n).On(s.C(conversation.FieldNumberID), n.C(number.FieldID)).
			Join(t).On(s.C(conversation.FieldTenantID), t.C(tenant.FieldID))
		s.Select(s.C(conversation.FieldID), s.C(conversation.FieldTenantID), s.C(conversation.FieldNumberID),
			s.C(conversation.FieldContactID), s.C(conversation.FieldAssigneeID), s.C(conversation.FieldStatus),
			s.C(conversation.FieldQueuedAt), s.C(conversation.FieldReservedForID), s.C(conversation.FieldReservedUntil),
			n.C(number.FieldRoutingPolicy), sql.As(n.C(number.FieldBusinessHours), "number_hours"),
			t.C(tenant.FieldTimezone), t.C(tenant.FieldSettings))
		if pg = s.Dialect() == dialect.Postgres; pg {
			s.ForUpdate(sql.WithLockTables(conversation.Table))
		}
	}).Scan(ctx, &rows)
	if err != nil {
		return nil, nil, Hours{}, false, err
	}
	if len(rows) == 0 { // ent's own error (not found, or not the viewer's to see)
		_, err := tx.Conversation.Get(ctx, conversationID)
		return nil, nil, Hours{}, false, cmp.Or(err, error(&ent.NotFoundError{}))
	}
	r := rows[0]
	conv = &ent.Conversation{ID: r.ID, TenantID: r.TenantID, NumberID: r.NumberID, ContactID: r.ContactID,
		AssigneeID: r.AssigneeID, Status: r.Status, QueuedAt: r.QueuedAt, ReservedForID: r.ReservedForID, ReservedUntil: r.ReservedUntil}
	num = &ent.Number{ID: r.NumberID, TenantID: r.TenantID}
	var settings schematype.TenantSettings
	for _, j := range []struct {
		raw []byte
		v   any
	}{{r.Policy, &num.RoutingPolicy}, {r.NumberHours, &num.BusinessHours}, {r.Settings, &settings}} {
		if err := unmarshalJSON(j.raw, j.v); err != nil {
			return nil, nil, Hours{}, false, err
		}
	}
	h, err = hoursOf(num, r.Timezone, settings)
	return conv, num, h, pg, err
}

// place gives the locked conv to the first agent a step of pol finds and
// claims, recording cause and why (prefixed to the step's reason), or puts
// it in the queue when nobody qualifies. fold: see pick.
func (s *Service) place(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, num *ent.Number,
	pol schematype.RoutingPolicy, cause assignment.Cause, why string, fold bool) (Decision, error) {
	d, err := s.pick(ctx, tx, conv, num, pol, cause, why, fold)
	if err != nil || d.AgentID != "" {
		return d, err
	}
	return s.queue(ctx, tx, conv, why)
}

// pick gives the locked conv to the first agent a step of pol finds and
// claims (never the agent holding it); an empty Decision when nobody
// qualifies. With fold (Postgres, conv held by nobody) each step's first
// try claims, assigns and records in one statement (claimAndGive); its
// fallback, and every try without fold, take three.
func (s *Service) pick(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, num *ent.Number,
	pol schematype.RoutingPolicy, cause assignment.Cause, why string, fold bool) (Decision, error) {
	eligible := eligibleAgents(num, pol)
	if conv.AssigneeID != nil {
		eligible = append(eligible, agent.IDNEQ(*conv.AssigneeID))
	}
	for _, step := range pol.Strategies {
		d := Decision{Strategy: step, Reason: why + reasonOf(step, pol)}
		folds := fold && conv.AssigneeID == nil && assignment.ReasonValidator(d.Reason) == nil
		if folds {
			id, err := s.claimAndGive(ctx, tx, conv, pol, step, eligible, d, cause)
			if err != nil {
				return Decision{}, err
			}
			if id != "" {
				d.AgentID = id
				s.published(tx, conv, d, cause, kindOfMove(conv))
				return d, nil
			}
		}
		id, err := s.claimFor(ctx, tx, conv, pol, step, eligible, !folds)
		if err != nil {
			return Decision{}, err
		}
		if id == "" {
			continue
		}
		d.AgentID = id
		return d, s.give(ctx, tx, conv, d, cause)
	}
	return Decision{}, nil
}

// claimFor claims the place of the agent one step of a policy chooses and
// returns who, or "" when nobody qualifies. Its first try (unless best is
// false: the caller made it) chooses and claims in one statement
// (claimBest); only when that one finds its choice taken meanwhile by
// another instance does it fall back to reading the candidates and claiming
// them in turn.
func (s *Service) claimFor(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, pol schematype.RoutingPolicy,
	step schematype.RoutingStrategy, eligible []predicate.Agent, best bool) (string, error) {
	if step == schematype.StrategySticky && !best {
		return "", nil // sticky has one candidate: not claimed is not eligible
	}
	if best {
		id, err := s.claimBest(ctx, tx, conv, pol, step, eligible)
		if err != nil || id != "" || step == schematype.StrategySticky {
			return id, err
		}
	}
	ids, err := s.candidates(ctx, tx, conv, pol, step, eligible)
	if err != nil {
		return "", err
	}
	for _, id := range ids {
		ok, err := s.claim(ctx, tx, id, eligible)
		if err != nil || ok {
			return id, err
		}
	}
	return "", nil
}

// claimBest raises the load of the agent a step chooses, if they are still
// eligible when the update reaches their row, in one statement:
//
//	UPDATE agents SET open_count = open_count + 1, … WHERE <eligible> AND id IN
//	  (SELECT id FROM agents WHERE <eligible> ORDER BY <the step's order> LIMIT 1)
//	RETURNING id
//
// The condition is checked again on the row itself (on Postgres after any
// concurrent claim of it commits), so two instances never both take an
// agent's last place; "" when nobody qualified or the one chosen was taken
// meanwhile. The same SQL runs on both databases.
func (s *Service) claimBest(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, pol schematype.RoutingPolicy,
	step schematype.RoutingStrategy, eligible []predicate.Agent) (string, error) {
	query, args, ok := s.claimQuery(conv, pol, step, eligible)
	if !ok {
		return "", nil
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return "", fmt.Errorf("claim an agent for %s: %w", conv.ID, err)
	}
	defer rows.Close()
	var id string
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return "", err
		}
	}
	return id, rows.Err()
}

// claimAndGive is claimBest, the assignment of conv to the agent claimed
// and its history in one statement (Postgres: data-modifying WITH), for a
// conversation nobody holds:
//
//	WITH claimed AS (<claimBest's UPDATE agents … RETURNING id>),
//	  assigned AS (UPDATE conversations SET assignee_id = claimed.id, queued_at = NULL, …
//	    FROM claimed WHERE conversations.id = <conv> RETURNING claimed.id AS agent_id),
//	  history AS (INSERT INTO assignments (…) SELECT … FROM assigned)
//	SELECT claimed.id, assigned.agent_id FROM claimed LEFT JOIN assigned ON true
//
// It writes what give writes through ent, whose hooks have nothing to add
// here: the agent's load is the claim (keepAgentLoad moves none when
// nobody held the conversation), the status is unchanged (no report
// fact), and the viewer is the system's (no edge guard). Returns "" when
// nobody was claimed (nothing was written then), and an error when an
// agent was claimed but the conversation not assigned.
func (s *Service) claimAndGive(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, pol schematype.RoutingPolicy,
	step schematype.RoutingStrategy, eligible []predicate.Agent, d Decision, cause assignment.Cause) (string, error) {
	claim, args, ok := s.claimQuery(conv, pol, step, eligible)
	if !ok {
		return "", nil
	}
	if err := schema.TouchAgents(ctx); err != nil {
		return "", err
	}
	now := s.clock.Now()
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var q strings.Builder
	q.WriteString("WITH claimed AS (" + claim + "), assigned AS (UPDATE " + conversation.Table +
		" SET " + conversation.FieldAssigneeID + " = claimed." + agent.FieldID + ", " + conversation.FieldQueuedAt + " = NULL, " +
		conversation.FieldUpdatedAt + " = " + arg(time.Now()) + " FROM claimed WHERE " + conversation.Table + "." + conversation.FieldID +
		" = " + arg(conv.ID) + " RETURNING claimed." + agent.FieldID + " AS agent_id), history AS (INSERT INTO " + assignment.Table + " (" +
		strings.Join([]string{assignment.FieldID, assignment.FieldCreatedAt, assignment.FieldUpdatedAt, assignment.FieldTenantID,
			assignment.FieldConversationID, assignment.FieldAgentID, assignment.FieldContactID, assignment.FieldCause,
			assignment.FieldStrategy, assignment.FieldReason}, ", ") + ") SELECT ")
	q.WriteString(strings.Join([]string{arg(pulid.New(assignmentPrefix)), arg(now), arg(time.Now()), arg(conv.TenantID),
		arg(conv.ID), "agent_id", arg(conv.ContactID), arg(string(cause)), arg(string(d.Strategy)), arg(d.Reason)}, ", "))
	// a row when an agent was claimed; its agent_id NULL if the conversation
	// was then not assigned (cannot happen while RouteTx holds its row: an
	// error, not a load raised for nothing)
	q.WriteString(" FROM assigned) SELECT claimed.id, assigned.agent_id FROM claimed LEFT JOIN assigned ON true")
	rows, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return "", fmt.Errorf("claim an agent for %s: %w", conv.ID, err)
	}
	defer rows.Close()
	var claimedID string
	var assignedID *string
	for rows.Next() {
		if err := rows.Scan(&claimedID, &assignedID); err != nil {
			return "", err
		}
	}
	switch err := rows.Err(); {
	case err != nil:
		return "", err
	case claimedID == "":
		return "", nil
	case assignedID == nil:
		return "", fmt.Errorf("route %s: agent %s claimed but the conversation not assigned", conv.ID, claimedID)
	}
	return *assignedID, nil
}

// assignmentPrefix is the prefix of the assignments' ids (their IDMixin).
const assignmentPrefix = "asg"

// claimQuery is claimBest's statement for one step; false for a step it
// does not know.
func (s *Service) claimQuery(conv *ent.Conversation, pol schematype.RoutingPolicy,
	step schematype.RoutingStrategy, eligible []predicate.Agent) (string, []any, bool) {
	b := sql.Dialect(dialect.Postgres)
	a := b.Table(agent.Table)
	best := b.Select(a.C(agent.FieldID)).From(a).Where(sql.EQ(a.C(agent.FieldTenantID), conv.TenantID)).Limit(1)
	for _, p := range eligible {
		p(best)
	}
	switch step {
	case schematype.StrategySticky:
		as := b.Table(assignment.Table)
		last := b.Select(as.C(assignment.FieldAgentID)).From(as).
			Where(sql.And(sql.EQ(as.C(assignment.FieldContactID), conv.ContactID), sql.NotNull(as.C(assignment.FieldAgentID)))).
			OrderBy(sql.Desc(as.C(assignment.FieldCreatedAt))).Limit(1)
		if pol.StickyWindowMinutes > 0 {
			last.Where(sql.GTE(as.C(assignment.FieldCreatedAt), s.clock.Now().Add(-time.Duration(pol.StickyWindowMinutes)*time.Minute)))
		}
		best.Where(sql.In(a.C(agent.FieldID), last))
	case schematype.StrategyRoundRobin:
		best.OrderExpr(sql.Expr(a.C(agent.FieldLastAssignedAt) + " ASC NULLS FIRST")).OrderBy(a.C(agent.FieldID))
	case schematype.StrategyLeastLoaded:
		best.OrderBy(a.C(agent.FieldOpenCount)).OrderExpr(sql.Expr(a.C(agent.FieldLastAssignedAt) + " ASC NULLS FIRST")).
			OrderBy(a.C(agent.FieldID))
	default:
		return "", nil, false
	}
	now := s.clock.Now()
	where := b.Select().From(a).Where(sql.In(a.C(agent.FieldID), best))
	for _, p := range eligible {
		p(where)
	}
	query, args := b.Update(agent.Table).
		Set(agent.FieldUpdatedAt, now).Set(agent.FieldLastAssignedAt, now).
		Set(agent.FieldOpenCount, sql.Expr(a.C(agent.FieldOpenCount)+" + 1")).
		FromSelect(where).Returning(agent.FieldID).Query()
	return query, args, true
}

// eligibleAgents is the filter every candidate of a policy passes: enabled,
// online unless the policy says otherwise, under capacity unless it says
// otherwise, and in the policy's team or the number's members (everyone when
// the number lists none).
func eligibleAgents(num *ent.Number, pol schematype.RoutingPolicy) []predicate.Agent {
	ps := []predicate.Agent{agent.DisabledAtIsNil()}
	if !pol.IncludeOffline {
		ps = append(ps, agent.PresenceEQ(agent.PresenceONLINE))
	}
	if !pol.IgnoreCapacity {
		ps = append(ps, predicate.Agent(func(s *sql.Selector) {
			s.Where(sql.ColumnsLT(s.C(agent.FieldOpenCount), s.C(agent.FieldMaxConcurrent)))
		}))
	}
	if pol.TeamID != nil {
		teamID := *pol.TeamID
		ps = append(ps, predicate.Agent(func(s *sql.Selector) {
			s.Where(sql.In(s.C(agent.FieldID),
				sql.Select("agent_id").From(sql.Table("team_agents")).Where(sql.EQ("team_id", teamID))))
		}))
		return ps
	}
	numberID := num.ID
	return append(ps, predicate.Agent(func(s *sql.Selector) {
		members := sql.Table("number_members")
		s.Where(sql.Or(
			sql.In(s.C(agent.FieldID), sql.Select(members.C("agent_id")).From(members).Where(sql.EQ(members.C("number_id"), numberID))),
			sql.NotExists(sql.Select(members.C("agent_id")).From(members).Where(sql.EQ(members.C("number_id"), numberID))),
		))
	}))
}

// candidates lists the agents one step of the policy would choose, best
// first. It reads; claim decides.
func (s *Service) candidates(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, pol schematype.RoutingPolicy,
	step schematype.RoutingStrategy, eligible []predicate.Agent) ([]string, error) {
	q := tx.Agent.Query().Where(eligible...).Limit(candidatesPerStep)
	switch step {
	case schematype.StrategySticky:
		aq := tx.Assignment.Query().
			Where(assignment.ContactID(conv.ContactID), assignment.AgentIDNotNil()).
			Order(ent.Desc(assignment.FieldCreatedAt)).Limit(1)
		if pol.StickyWindowMinutes > 0 {
			aq.Where(assignment.CreatedAtGTE(s.clock.Now().Add(-time.Duration(pol.StickyWindowMinutes) * time.Minute)))
		}
		last, err := aq.First(ctx)
		if ent.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []string{*last.AgentID}, nil
	case schematype.StrategyRoundRobin:
		q.Order(agent.ByLastAssignedAt(sql.OrderNullsFirst()), agent.ByID())
	case schematype.StrategyLeastLoaded:
		q.Order(agent.ByOpenCount(), agent.ByLastAssignedAt(sql.OrderNullsFirst()), agent.ByID())
	default:
		return nil, nil
	}
	return q.IDs(ctx)
}

// claim raises agentID's load if they are still eligible: one conditional
// update, so that two instances never both take an agent's last place.
func (s *Service) claim(ctx context.Context, tx *ent.Tx, agentID string, eligible []predicate.Agent) (bool, error) {
	if err := schema.TouchAgents(ctx); err != nil {
		return false, err
	}
	n, err := tx.Agent.Update().
		Where(append([]predicate.Agent{agent.ID(agentID)}, eligible...)...).
		AddOpenCount(1).SetLastAssignedAt(s.clock.Now()).
		Save(ctx)
	return n == 1, err
}

// give assigns conv to d.AgentID, whose load is already claimed, and records
// why.
func (s *Service) give(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, d Decision, cause assignment.Cause) error {
	// conv is locked and read: the load hook need not read it again, nor ent
	// read it back (an Update, narrowed to conv by the hook)
	err := tx.Conversation.Update().Where(conversation.ID(conv.ID)).SetAssigneeID(d.AgentID).ClearQueuedAt().
		Exec(schema.WithLoadClaimedOn(ctx, d.AgentID, conv.ID, conv.AssigneeID, conv.Status))
	if err != nil {
		return fmt.Errorf("assign %s: %w", conv.ID, err)
	}
	return s.record(ctx, tx, conv, d, cause, kindOfMove(conv))
}

// queue puts conv in the queue (once: its place is its first arrival),
// taking it from its agent if it has one.
func (s *Service) queue(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, why string) (Decision, error) {
	d := Decision{Queued: true, Reason: why + "nobody online has capacity: waiting in the queue"}
	if conv.QueuedAt != nil && conv.AssigneeID == nil {
		return d, nil
	}
	// conv is locked and read (see give)
	u := tx.Conversation.Update().Where(conversation.ID(conv.ID)).ClearAssignee()
	if conv.QueuedAt == nil {
		u.SetQueuedAt(s.clock.Now())
	}
	if err := u.Exec(schema.WithLoadClaimedOn(ctx, "", conv.ID, conv.AssigneeID, conv.Status)); err != nil {
		return Decision{}, fmt.Errorf("queue %s: %w", conv.ID, err)
	}
	return d, s.record(ctx, tx, conv, d, assignment.CauseQUEUE, realtime.KindQueued)
}

// record writes the history entry and publishes the event (published), both
// saying why.
func (s *Service) record(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, d Decision, cause assignment.Cause, kind string) error {
	create := tx.Assignment.Create().
		SetConversationID(conv.ID).
		SetContactID(conv.ContactID).
		SetNillableFromAgentID(conv.AssigneeID).
		SetCause(cause).
		SetStrategy(string(d.Strategy)).
		SetReason(d.Reason).
		SetCreatedAt(s.clock.Now())
	if d.AgentID != "" {
		create.SetAgentID(d.AgentID)
	}
	if err := create.Exec(ctx); err != nil {
		return fmt.Errorf("record assignment of %s: %w", conv.ID, err)
	}
	s.published(tx, conv, d, cause, kind)
	return nil
}

// published publishes, when tx commits, what routing did with conv.
func (s *Service) published(tx *ent.Tx, conv *ent.Conversation, d Decision, cause assignment.Cause, kind string) {
	s.pub.OnCommit(tx, realtime.RoutedEvent(conv.TenantID, conv.ID, kind, d.AgentID, string(cause), d.Reason))
}

func reasonOf(step schematype.RoutingStrategy, pol schematype.RoutingPolicy) string {
	var b strings.Builder
	switch step {
	case schematype.StrategySticky:
		b.WriteString("sticky: the contact's last agent")
	case schematype.StrategyRoundRobin:
		b.WriteString("round-robin: the agent assigned longest ago")
	case schematype.StrategyLeastLoaded:
		b.WriteString("least-loaded: the agent with the fewest open conversations")
	}
	if !pol.IncludeOffline {
		b.WriteString(", online")
	}
	if !pol.IgnoreCapacity {
		b.WriteString(", under capacity")
	}
	if pol.TeamID != nil {
		b.WriteString(", in team " + *pol.TeamID)
	}
	return b.String()
}

// Arrived routes the conversation of a new customer message when nobody
// holds it: a new conversation, or one reopened unassigned (inbox.Arrivals).
// When conv carries its number (Edges.Number, as tx read it) and that number
// is routed by hand, there is nothing to do and nothing is read: RouteTx
// would lock and read the conversation to change nothing.
func (s *Service) Arrived(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, _ *ent.Message, _ bool) error {
	if conv.AssigneeID != nil {
		return nil
	}
	if num := conv.Edges.Number; num != nil && num.ID == conv.NumberID && num.RoutingPolicy.Manual() {
		return nil
	}
	_, err := s.RouteTx(ctx, tx, conv.ID)
	return err
}
