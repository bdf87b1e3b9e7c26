package connector

import (
	"context"

	"github.com/switchboard-dev/switchboard/ent"
)

// IngestBatch is ingestBatch, for tests that make batches themselves.
func (in *Ingester) IngestBatch(ctx context.Context, ds []*ent.WebhookDelivery) {
	in.ingestBatch(ctx, parseAll(ds))
}

// Partition is partition.
func Partition(d *ent.WebhookDelivery, n int) int { return partition(parse(d), n) }
