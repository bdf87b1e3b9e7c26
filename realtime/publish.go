package realtime

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/switchboard-dev/switchboard/ent"
)

// Publisher publishes a transaction's events once it commits, and never for
// a transaction that rolls back. A nil Publisher publishes nothing (seeding,
// tools).
type Publisher struct {
	bus Bus
	log *slog.Logger
}

// NewPublisher returns a Publisher onto bus.
func NewPublisher(bus Bus, log *slog.Logger) *Publisher {
	return &Publisher{bus: bus, log: log}
}

// OnCommit publishes events after tx commits.
func (p *Publisher) OnCommit(tx *ent.Tx, events ...Event) {
	if p == nil || len(events) == 0 {
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			if err := next.Commit(ctx, tx); err != nil {
				return err
			}
			for _, e := range events {
				if _, err := p.bus.Publish(context.WithoutCancel(ctx), e); err != nil {
					// The change is committed; a lost event makes screens stale
					// until their next resync, so it is worth a log line.
					p.log.ErrorContext(ctx, "realtime: publish", "type", e.Type, "subject", e.Subject, "err", err)
				}
			}
			return nil
		})
	})
}

// Kinded is the Data of an event that says what kind of change it was, with
// extra key/value pairs.
func Kinded(kind string, extra ...string) json.RawMessage {
	m := map[string]string{"kind": kind}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	b, _ := json.Marshal(m) // a map of strings always marshals
	return b
}

// KindOf reads the kind of an event's Data.
func KindOf(e Event) string {
	var d struct{ Kind string }
	_ = json.Unmarshal(e.Data, &d)
	return d.Kind
}

// Field reads one string of an event's Data.
func Field(e Event, name string) string {
	var d map[string]any
	_ = json.Unmarshal(e.Data, &d)
	s, _ := d[name].(string)
	return s
}
