package viewer

import (
	"context"

	"entgo.io/ent/privacy"
)

// Platform returns a context in which the privacy rules allow every read and
// write, across tenants. It is the one name for that bypass: platform work
// that runs before a tenant is known, or that spans tenants by design. Keep
// the list short; everything else runs as a viewer, background work for one
// tenant as System. The legitimate callers:
//
//   - auth: login by email, refresh by token, API key by hash (the tenant is
//     what the lookup finds);
//   - tenant.Create: the tenant row itself (its owner is then written as the
//     new tenant's system viewer);
//   - the WhatsApp webhook and ingest: storing a delivery and routing it to
//     the number it names, whose tenant it learns;
//   - number health: the periodic read lists numbers of every tenant;
//   - number verification: whether another tenant verified a phone number id
//     first (number.Service), answered without naming it;
//   - presence: the sweep of lapsed leases, across tenants;
//   - routing: the tenants with a queue to drain, and the tenants whose
//     redistribution schedules are due;
//   - policy.Adapter.LoadPolicy: every tenant's rules, for tools;
//   - demo.Seed and the in-process simulator: whether the database is empty,
//     and the demo's sim numbers;
//   - outbound webhooks: the enabled endpoints of every tenant, and the
//     deliveries they owe (outhook);
//   - erasure and retention: the stored provider webhooks, which belong to
//     no tenant, of the tenant's own numbers (contact.Erase, retention);
//   - conversation export jobs: the expired files of every tenant (export);
//   - tests that count or inspect rows across tenants.
func Platform(ctx context.Context) context.Context {
	return privacy.DecisionContext(ctx, privacy.Allow)
}
