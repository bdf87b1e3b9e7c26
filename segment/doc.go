// Package segment keeps a tenant's saved contact filters and resolves them:
// tags (all, any, none), typed attribute predicates (string equality and
// prefix, number comparisons, a time within the last N days, before or
// after), opt-in states, the numbers a contact talked to and their last
// inbound message. Broadcasts choose their audience with a Filter:
//
//	q, err := segments.Query(ctx, f)           // an *ent.ContactQuery, privacy applied
//	n, err := segments.Count(ctx, f)
//	p, err := segments.Preview(ctx, f, 10)     // count and a sample
//	pred, err := segment.Where(tenantID, f, now, nil) // the bare predicate
//
// Tags and attributes are JSON on the contact row; filtering 100,000 of them
// by JSON on both SQLite and Postgres would read every row. The database keeps
// two side tables in step with those columns by triggers (migration 0021):
// contact_tags (one row per tag) and contact_attribute_values (one row per
// attribute, its value as text and as a number: numbers, times in Unix
// seconds, booleans 0 or 1), each indexed by tenant, name and value. A
// filter is a conjunction of `id IN (subquery)` over them, so its cost
// follows the contacts it names, not the size of the JSON
// (BenchmarkPreview).
package segment
