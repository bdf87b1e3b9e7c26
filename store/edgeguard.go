package store

import (
	"context"
	"fmt"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/pulid"
	"github.com/switchboard-dev/switchboard/viewer"
)

// guardEdges rejects a write that points an edge at a row of another tenant,
// or at an ID of the wrong type. Another tenant's row answers NOT_FOUND, the
// same as a row that does not exist, so existence never leaks across tenants.
func guardEdges(client *ent.Client) {
	client.Use(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if err := checkEdges(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
}

type clienter interface {
	Client() *ent.Client
}

func checkEdges(ctx context.Context, m ent.Mutation) error {
	// The guard stands between callers and IDs they chose. The system viewer
	// (ingest, jobs, seeding) links rows it loaded itself in one tenant, and
	// would pay a query per edge for nothing.
	v := viewer.FromContext(ctx)
	if m.Op().Is(ent.OpDelete|ent.OpDeleteOne) || v == nil || v.Kind == viewer.KindSystem {
		return nil
	}
	for _, edge := range m.AddedEdges() {
		if edge == "tenant" {
			continue
		}
		table, ok := ent.EdgeTable(m.Type(), edge)
		if !ok {
			return fmt.Errorf("edge guard: unknown edge %s.%s", m.Type(), edge)
		}
		prefix, _ := ent.PrefixOfTable(table)
		ids := make([]string, 0, len(m.AddedIDs(edge)))
		for _, v := range m.AddedIDs(edge) {
			id, _ := v.(string)
			if !pulid.Is(id, prefix) {
				return apperr.Invalid(edge, "%q is not a valid %s id (want %s_…)", id, table, prefix)
			}
			ids = append(ids, id)
		}
		c, ok := m.(clienter)
		if !ok {
			return fmt.Errorf("edge guard: mutation %T has no client", m)
		}
		n, err := c.Client().CountVisible(ctx, table, dedupe(ids)...)
		if err != nil {
			return fmt.Errorf("edge guard %s.%s: %w", m.Type(), edge, err)
		}
		if n != len(dedupe(ids)) {
			return apperr.New(apperr.NotFound, "%s: no such %s", edge, table)
		}
	}
	return nil
}

func dedupe(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}
