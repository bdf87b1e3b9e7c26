package report

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/viewer"
)

// The facts are kept by hooks (ent/schema/report.go) in the transaction of
// each write they follow: a new message, a new conversation, a status
// change. Reads run as the tenant's system viewer: a fact must never fail
// the write it follows because the writer may not see a row.

// state is a conversation's running state (report_conversations).
type state struct {
	episodeStartedAt time.Time  // opened or last reopened
	waitingSince     *time.Time // the customer's first unanswered message
	lastMessageAt    *time.Time // the newest customer message or response applied
	responded        bool       // its first response is recorded
	responders       map[string]bool
}

// countsAsCustomerMessage: a reaction or a system notice asks for no answer.
func countsAsCustomerMessage(m *ent.Message) bool {
	return m.Direction == message.DirectionINBOUND && m.Kind != message.KindREACTION && m.Kind != message.KindSYSTEM
}

// isResponse: an agent's own message answers; automatic ones (no sender),
// reactions and system notices do not.
func isResponse(m *ent.Message) bool {
	return m.Direction == message.DirectionOUTBOUND && m.SenderID != nil && m.Kind != message.KindREACTION && m.Kind != message.KindSYSTEM
}

// step applies message m to st and returns the samples it completes.
// responders says which agents already answered in the conversation.
func (tc tenantClock) step(st *state, conv *ent.Conversation, m *ent.Message, responders func(string) (bool, error)) ([]sample, error) {
	at := m.CreatedAt
	if countsAsCustomerMessage(m) || isResponse(m) { // the others change nothing: their order does not matter
		st.lastMessageAt = &at
	}
	switch {
	case countsAsCustomerMessage(m):
		if st.waitingSince == nil {
			st.waitingSince = &at
		}
	case isResponse(m) && st.waitingSince != nil:
		d := dims{number: conv.NumberID, team: deref(conv.TeamID), agent: *m.SenderID}
		answered, err := responders(d.agent)
		if err != nil {
			return nil, err
		}
		r := tc.span(KindResponse, conv.ID, d, *st.waitingSince, at)
		r.handled = !answered
		out := []sample{r}
		if !st.responded {
			out = append(out, tc.span(KindFirstResponse, conv.ID, d, *st.waitingSince, at))
			st.responded = true
		}
		st.waitingSince = nil
		return out, nil
	}
	return nil, nil
}

type heldKey struct{}

// Holding tells TrackMessage, for a message written with the returned
// context, that conv is its conversation as the writer's transaction has it
// now (read or created in it, not changed since), so that it is not read
// again: the webhook ingest records a customer's message in the
// conversation it has just found or opened.
func Holding(ctx context.Context, conv *ent.Conversation) context.Context {
	return context.WithValue(ctx, heldKey{}, conv)
}

// TrackMessage records a new message: it counts in or out, and may answer
// the customer (a response sample). A message older than one already
// applied (a late delivery) replays the conversation's messages in order.
// When c is the client of the transaction in ctx, the facts wait for its
// commit (pending.go).
func TrackMessage(ctx context.Context, c *ent.Client, m *ent.Message) error {
	p := pendingOf(ctx, c)
	ctx = viewer.System(ctx, m.TenantID)
	tc, err := readTenant(ctx, c, p, m.TenantID)
	if err != nil {
		return err
	}
	conv, ok := ctx.Value(heldKey{}).(*ent.Conversation)
	if !ok || conv.ID != m.ConversationID {
		if conv, err = c.Conversation.Get(ctx, m.ConversationID); err != nil {
			return fmt.Errorf("report: conversation of %s: %w", m.ID, err)
		}
	}
	d := dims{number: m.NumberID, team: deref(conv.TeamID)}
	var cnt counts
	if m.Direction == message.DirectionINBOUND {
		d.agent, cnt.MessagesIn = deref(conv.AssigneeID), 1
	} else {
		d.agent, cnt.MessagesOut = deref(m.SenderID), 1
	}
	if err := addCounts(ctx, c, p, tc, m.CreatedAt, d, cnt, 1); err != nil {
		return err
	}
	if !countsAsCustomerMessage(m) && !isResponse(m) {
		return nil
	}
	st, err := loadState(ctx, c, p, conv)
	if err != nil {
		return err
	}
	late := st.lastMessageAt != nil && m.CreatedAt.Before(*st.lastMessageAt)
	// The targets judge the samples a response completes: a customer's
	// message in order completes none, and needs no read of them.
	if late || isResponse(m) && st.waitingSince != nil {
		if err := tc.readTargets(ctx, c); err != nil {
			return err
		}
	}
	if late {
		return rebuild(ctx, c, p, tc, conv, st)
	}
	samples, err := tc.step(&st, conv, m, func(agent string) (bool, error) {
		if p != nil && p.answered(conv.ID, agent) {
			return true, nil
		}
		return exists(ctx, c, `SELECT 1 FROM report_samples WHERE conversation_id = $1 AND kind = $2 AND agent_id = $3`, conv.ID, KindResponse, agent)
	})
	if err != nil {
		return err
	}
	if err := addSamples(ctx, c, p, tc, samples, 1); err != nil {
		return err
	}
	return saveState(ctx, c, p, tc.id, conv.ID, st)
}

// TrackOpened records a new conversation (and its resolution, when it is
// created resolved, as the demo does), at once or at the commit as for
// TrackMessage.
func TrackOpened(ctx context.Context, c *ent.Client, conv *ent.Conversation) error {
	p := pendingOf(ctx, c)
	ctx = viewer.System(ctx, conv.TenantID)
	tc, err := readTenant(ctx, c, p, conv.TenantID)
	if err != nil {
		return err
	}
	d := conversationDims(conv)
	if err := addCounts(ctx, c, p, tc, conv.CreatedAt, d, counts{Opened: 1}, 1); err != nil {
		return err
	}
	st := state{episodeStartedAt: conv.CreatedAt}
	if err := saveState(ctx, c, p, tc.id, conv.ID, st); err != nil {
		return err
	}
	if conv.Status != conversation.StatusRESOLVED {
		return nil
	}
	at := conv.CreatedAt
	if conv.ResolvedAt != nil {
		at = *conv.ResolvedAt
	}
	return resolved(ctx, c, p, tc, conv, st, at)
}

// TrackStatus records a conversation's move from status old to its current
// one at instant at: a resolution or a reopening, at once or at the commit
// as for TrackMessage.
func TrackStatus(ctx context.Context, c *ent.Client, tenantID, id string, old conversation.Status, at time.Time) error {
	p := pendingOf(ctx, c)
	ctx = viewer.System(ctx, tenantID)
	conv, err := c.Conversation.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("report: conversation %s: %w", id, err)
	}
	isResolved, wasResolved := conv.Status == conversation.StatusRESOLVED, old == conversation.StatusRESOLVED
	if isResolved == wasResolved {
		return nil
	}
	tc, err := readTenant(ctx, c, p, conv.TenantID)
	if err != nil {
		return err
	}
	st, err := loadState(ctx, c, p, conv)
	if err != nil {
		return err
	}
	if isResolved {
		return resolved(ctx, c, p, tc, conv, st, at)
	}
	if err := addCounts(ctx, c, p, tc, at, conversationDims(conv), counts{Reopened: 1}, 1); err != nil {
		return err
	}
	st.episodeStartedAt = at
	return saveState(ctx, c, p, tc.id, conv.ID, st)
}

func resolved(ctx context.Context, c *ent.Client, p *pending, tc tenantClock, conv *ent.Conversation, st state, at time.Time) error {
	d := conversationDims(conv)
	if err := addCounts(ctx, c, p, tc, at, d, counts{Resolved: 1}, 1); err != nil {
		return err
	}
	return addSamples(ctx, c, p, tc, []sample{tc.span(KindResolution, conv.ID, d, st.episodeStartedAt, at)}, 1)
}

// rebuild takes back the conversation's response samples and replays its
// messages in order.
func rebuild(ctx context.Context, c *ent.Client, p *pending, tc tenantClock, conv *ent.Conversation, st state) error {
	if err := p.writeSamples(ctx, c); err != nil {
		return err
	}
	old, err := responseSamples(ctx, c, conv.ID)
	if err != nil {
		return err
	}
	if err := addSamples(ctx, c, p, tc, old, -1); err != nil {
		return err
	}
	if _, err := c.ExecContext(ctx, `DELETE FROM report_samples WHERE conversation_id = $1 AND kind IN ($2, $3)`,
		conv.ID, KindResponse, KindFirstResponse); err != nil {
		return fmt.Errorf("report: rebuild %s: %w", conv.ID, err)
	}
	msgs, err := c.Message.Query().Where(message.ConversationID(conv.ID)).
		Order(ent.Asc(message.FieldCreatedAt), ent.Asc(message.FieldID)).All(ctx)
	if err != nil {
		return err
	}
	st = state{episodeStartedAt: st.episodeStartedAt}
	seen := map[string]bool{}
	var samples []sample
	for _, m := range msgs {
		got, err := tc.step(&st, conv, m, func(agent string) (bool, error) { return seen[agent], nil })
		if err != nil {
			return err
		}
		for _, s := range got {
			seen[s.dims.agent] = true
		}
		samples = append(samples, got...)
	}
	if err := addSamples(ctx, c, p, tc, samples, 1); err != nil {
		return err
	}
	return saveState(ctx, c, p, tc.id, conv.ID, st)
}

func responseSamples(ctx context.Context, db execer, conversationID string) ([]sample, error) {
	rows, err := db.QueryContext(ctx, `SELECT kind, number_id, team_id, agent_id, started_at, at, ms, business_ms, breached, business_breached, handled
FROM report_samples WHERE conversation_id = $1 AND kind IN ($2, $3)`, conversationID, KindResponse, KindFirstResponse)
	if err != nil {
		return nil, fmt.Errorf("report: samples of %s: %w", conversationID, err)
	}
	defer rows.Close()
	var out []sample
	for rows.Next() {
		s := sample{conversationID: conversationID}
		var started, at, breached, bb, handled int64
		if err := rows.Scan(&s.kind, &s.dims.number, &s.dims.team, &s.dims.agent, &started, &at, &s.ms, &s.businessMs, &breached, &bb, &handled); err != nil {
			return nil, err
		}
		s.startedAt, s.at = time.UnixMilli(started), time.UnixMilli(at)
		s.breached, s.businessBreach, s.handled = breached == 1, bb == 1, handled == 1
		out = append(out, s)
	}
	return out, rows.Err()
}

func conversationDims(conv *ent.Conversation) dims {
	return dims{number: conv.NumberID, team: deref(conv.TeamID), agent: deref(conv.AssigneeID)}
}

// loadState reads the conversation's state; a conversation from before the
// facts existed starts from its opening. A state the transaction wrote
// (p) is its pending one.
func loadState(ctx context.Context, db execer, p *pending, conv *ent.Conversation) (state, error) {
	if p != nil {
		if st, ok := p.state(conv.ID); ok {
			return st, nil
		}
	}
	var st state
	var episode int64
	var waiting, last sql.NullInt64
	var responded int64
	rows, err := db.QueryContext(ctx, `SELECT episode_started_at, waiting_since, last_message_at, responded FROM report_conversations WHERE conversation_id = $1`, conv.ID)
	if err != nil {
		return st, fmt.Errorf("report: state of %s: %w", conv.ID, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return st, err
		}
		return state{episodeStartedAt: conv.CreatedAt}, nil
	}
	if err := rows.Scan(&episode, &waiting, &last, &responded); err != nil {
		return st, err
	}
	st.episodeStartedAt = time.UnixMilli(episode)
	if waiting.Valid {
		t := time.UnixMilli(waiting.Int64)
		st.waitingSince = &t
	}
	if last.Valid {
		t := time.UnixMilli(last.Int64)
		st.lastMessageAt = &t
	}
	st.responded = responded == 1
	return st, rows.Err()
}

// saveState writes the conversation's state, or keeps it for the commit
// (p).
func saveState(ctx context.Context, db execer, p *pending, tenantID, conversationID string, st state) error {
	if p != nil {
		p.setState(tenantID, conversationID, st)
		return nil
	}
	_, err := db.ExecContext(ctx, `INSERT INTO `+stateTable+`
VALUES ($1, $2, $3, $4, $5, $6)`+stateUpsert, stateRow(tenantID, conversationID, st)...)
	if err != nil {
		return fmt.Errorf("report: state of %s: %w", conversationID, err)
	}
	return nil
}

func exists(ctx context.Context, db execer, q string, args ...any) (bool, error) {
	rows, err := db.QueryContext(ctx, q+" LIMIT 1", args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	found := rows.Next()
	return found, errors.Join(rows.Err(), rows.Close())
}

func millis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
