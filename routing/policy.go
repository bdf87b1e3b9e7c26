package routing

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/store"
)

// ActionPolicySet is the audit action of a change of a number's routing policy.
const ActionPolicySet = "number.routing_policy"

// maxStickyWindowMinutes bounds a sticky window to 30 days.
const maxStickyWindowMinutes = 30 * 24 * 60

// SetPolicy sets how numberID's new conversations find an agent. The change
// is audited; conversations already assigned keep their agent, and the
// waiting ones are drained by the new policy.
func (s *Service) SetPolicy(ctx context.Context, numberID string, pol schematype.RoutingPolicy) (*ent.Number, error) {
	if err := validPolicy(pol); err != nil {
		return nil, err
	}
	num, err := store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Number, error) {
		if pol.TeamID != nil {
			if _, err := tx.Team.Get(ctx, *pol.TeamID); ent.IsNotFound(err) {
				return nil, apperr.New(apperr.NotFound, "teamID: no such team")
			} else if err != nil {
				return nil, err
			}
		}
		num, err := tx.Number.UpdateOneID(numberID).SetRoutingPolicy(pol).Save(ctx)
		if err != nil {
			return nil, err
		}
		return num, audit.Record(ctx, tx, audit.Event{
			Action: ActionPolicySet, TargetID: num.ID,
			Summary: fmt.Sprintf("routing of %s: %s", num.DisplayName, describe(pol)),
		})
	})
	if err != nil {
		return nil, err
	}
	_, err = s.Drain(ctx)
	return num, err
}

func validPolicy(pol schematype.RoutingPolicy) error {
	for i, st := range pol.Strategies {
		if !slices.Contains(st.Values(), string(st)) {
			return apperr.Invalid("strategies", "%q is not a strategy", st)
		}
		if slices.Contains(pol.Strategies[:i], st) {
			return apperr.Invalid("strategies", "%s appears twice in the chain", st)
		}
	}
	if pol.StickyWindowMinutes < 0 || pol.StickyWindowMinutes > maxStickyWindowMinutes {
		return apperr.Invalid("stickyWindowMinutes", "between 0 (no bound) and %d", maxStickyWindowMinutes)
	}
	return nil
}

func describe(pol schematype.RoutingPolicy) string {
	if pol.Manual() {
		return "manual"
	}
	steps := make([]string, len(pol.Strategies))
	for i, st := range pol.Strategies {
		steps[i] = string(st)
	}
	return strings.Join(steps, " → ")
}
