package segment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	entcontact "github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/pulid"
	"github.com/switchboard-dev/switchboard/segment"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/bulk"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// benchContacts is the size of the CRM list BenchmarkPreview filters.
const benchContacts = 100_000

// seedCRM bulk-inserts n contacts into a new tenant: 2 % tagged vip, a
// third opted in, a purchase date spread over a year, an order count, a
// city; each with a conversation on one of three numbers, its last inbound
// spread over 90 days.
func seedCRM(b *testing.B, db *store.DB, n int) (context.Context, []string) {
	b.Helper()
	ten, err := db.Client.Tenant.Create().SetName("crm").SetSlug("crm").Save(viewer.Platform(b.Context()))
	require.NoError(b, err)
	ctx := viewer.System(b.Context(), ten.ID)
	var nums []string
	for i := range 3 {
		num, err := db.Client.Number.Create().SetPhone(fmt.Sprintf("+4930000000%d", i)).SetDisplayName("n").Save(ctx)
		require.NoError(b, err)
		nums = append(nums, num.ID)
	}
	cities := []string{"Paris", "Lyon", "Berlin", "Hamburg", "Madrid"}
	optIns := []entcontact.OptIn{entcontact.OptInOPTED_IN, entcontact.OptInUNKNOWN, entcontact.OptInOPTED_OUT}
	// Written with store/bulk (raw multi-row INSERTs): the triggers fill the
	// side tables as they would for any write.
	var contacts, convs [][]any
	for i := range n {
		tags := `["customer","store-` + strconv.Itoa(i%12) + `"`
		if i%50 == 0 {
			tags += `,"vip"`
		}
		attrs, err := json.Marshal([]schematype.ContactAttribute{
			attr("city", schematype.AttributeString, cities[i%len(cities)]),
			attr("last_purchase_at", schematype.AttributeTime, now.Add(-time.Duration(i%365)*24*time.Hour).Format(time.RFC3339)),
			attr("orders", schematype.AttributeNumber, strconv.Itoa(i%20)),
		})
		require.NoError(b, err)
		id, at := pulid.New("ctc"), now.Add(-time.Duration(n-i)*time.Second)
		contacts = append(contacts, []any{id, at, at, strconv.Itoa(4915100000000 + i), fmt.Sprintf("Customer %d", i),
			tags + "]", string(attrs), string(optIns[i%3]), ten.ID})
		convs = append(convs, []any{pulid.New("cnv"), at, at, ten.ID, nums[i%3], id, now.Add(-time.Duration(i%90) * 24 * time.Hour)})
	}
	err = store.WithTx(ctx, db.Client, func(ctx context.Context, tx *ent.Tx) error {
		if err := bulk.Insert(ctx, tx.Client(), "contacts (id, created_at, updated_at, wa_id, profile_name, tags, attributes, opt_in, tenant_id)", contacts, ""); err != nil {
			return err
		}
		return bulk.Insert(ctx, tx.Client(), "conversations (id, created_at, updated_at, tenant_id, number_id, contact_id, last_customer_message_at)", convs, "")
	})
	require.NoError(b, err)
	_, err = db.SQL.ExecContext(ctx, "ANALYZE") // as a database that has lived has statistics
	require.NoError(b, err)
	return ctx, nums
}

// BenchmarkPreview is segmentPreview (a count and a sample of 10) on
// 100,000 contacts, on both databases, against the same conditions read
// from the contacts' JSON columns (the baseline the side tables replace).
//
//	go test -run '^$' -bench BenchmarkPreview -benchtime 20x ./segment/
func BenchmarkPreview(b *testing.B) {
	for _, name := range []string{dialect.SQLite, dialect.Postgres} {
		b.Run(name, func(b *testing.B) {
			db := storetest.Open(b, name)
			start := time.Now()
			ctx, nums := seedCRM(b, db, benchContacts)
			b.Logf("%s: %d contacts seeded in %s", name, benchContacts, time.Since(start).Round(time.Millisecond))
			segments := segment.New(db.Client, clock.NewFake(now))
			filters := []struct {
				name     string
				filter   segment.Filter
				baseline string // the same count, read from the JSON columns
			}{
				{"everyone", segment.Filter{}, ""},
				{"tag_vip", segment.Filter{TagsAny: []string{"vip"}}, jsonTag(db.Dialect, "vip")},
				{"bought_30d", segment.Filter{Attributes: []segment.AttributePredicate{
					{Key: "last_purchase_at", Type: schematype.AttributeTime, Op: segment.OpWithinDays, Value: "30"}}},
					jsonAttrAtLeast(db.Dialect, "last_purchase_at", now.AddDate(0, 0, -30).Format(time.RFC3339))},
				{"vip_optedin_recent_number", segment.Filter{TagsAll: []string{"vip"}, OptIn: []string{"OPTED_IN"},
					Attributes: []segment.AttributePredicate{{Key: "orders", Type: schematype.AttributeNumber, Op: segment.OpGTE, Value: "5"}},
					NumberIDs:  []string{nums[0]}, InboundWithinDays: 30}, ""},
				{"city_prefix", segment.Filter{Attributes: []segment.AttributePredicate{
					{Key: "city", Type: schematype.AttributeString, Op: segment.OpPrefix, Value: "Ham"}}}, ""},
			}
			for _, f := range filters {
				b.Run(f.name, func(b *testing.B) {
					var count int
					for b.Loop() {
						p, err := segments.Preview(ctx, f.filter, 10)
						require.NoError(b, err)
						count = p.Count
					}
					b.ReportMetric(float64(count), "contacts")
				})
				if f.baseline == "" {
					continue
				}
				b.Run(f.name+"_json_baseline", func(b *testing.B) {
					var count int
					for b.Loop() {
						require.NoError(b, db.SQL.QueryRowContext(ctx, f.baseline).Scan(&count))
					}
					b.ReportMetric(float64(count), "contacts")
				})
			}
		})
	}
}

func jsonTag(d, tag string) string {
	if d == dialect.Postgres {
		return `SELECT count(*) FROM contacts WHERE tags @> '["` + tag + `"]'`
	}
	return `SELECT count(*) FROM contacts WHERE EXISTS (SELECT 1 FROM json_each(contacts.tags) WHERE value = '` + tag + `')`
}

func jsonAttrAtLeast(d, key, value string) string {
	if d == dialect.Postgres {
		return `SELECT count(*) FROM contacts WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(attributes) a
			WHERE a->>'key' = '` + key + `' AND a->>'value' >= '` + value + `')`
	}
	return `SELECT count(*) FROM contacts WHERE EXISTS (SELECT 1 FROM json_each(contacts.attributes) j
		WHERE json_extract(j.value, '$.key') = '` + key + `' AND json_extract(j.value, '$.value') >= '` + value + `')`
}
