package segment_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/contact"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/auditevent"
	entcontact "github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/segment"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

type testBundle struct {
	db       *store.DB
	ctx      context.Context // the tenant's system viewer
	segments *segment.Service
	numbers  [2]string
	ids      map[string]string // contact name → id
}

func attr(key string, typ schematype.AttributeType, value string) schematype.ContactAttribute {
	return schematype.ContactAttribute{Key: key, Type: typ, Value: value}
}

// setup plants a tenant's contacts: what each filter must find is told by
// their names. Another tenant has a contact matching every filter.
func setup(t *testing.T, db *store.DB) testBundle {
	t.Helper()
	b := testBundle{db: db, segments: segment.New(db.Client, clock.NewFake(now)), ids: map[string]string{}}
	pctx := viewer.Platform(t.Context())
	for i, slug := range []string{"other", "shop"} {
		ten, err := db.Client.Tenant.Create().SetName(slug).SetSlug(slug).Save(pctx)
		require.NoError(t, err)
		ctx := viewer.System(t.Context(), ten.ID)
		var nums [2]string
		for j := range nums {
			n, err := db.Client.Number.Create().SetPhone("+3360000" + string(rune('0'+i)) + string(rune('0'+j))).SetDisplayName("n").Save(ctx)
			require.NoError(t, err)
			nums[j] = n.ID
		}
		type plant struct {
			name  string
			tags  []string
			attrs []schematype.ContactAttribute
			optIn entcontact.OptIn
			wrote map[int]time.Duration // number index → how long ago they last wrote
			group bool
		}
		plants := []plant{
			{name: "vip-buyer", tags: []string{"vip", "paris"}, optIn: entcontact.OptInOPTED_IN,
				attrs: []schematype.ContactAttribute{attr("last_purchase_at", schematype.AttributeTime, now.Add(-10*24*time.Hour).Format(time.RFC3339)),
					attr("orders", schematype.AttributeNumber, "12"), attr("city", schematype.AttributeString, "Paris 11e"), attr("member", schematype.AttributeBool, "true")},
				wrote: map[int]time.Duration{0: 2 * time.Hour}},
			{name: "vip-old", tags: []string{"vip"}, optIn: entcontact.OptInOPTED_OUT,
				attrs: []schematype.ContactAttribute{attr("last_purchase_at", schematype.AttributeTime, now.Add(-90*24*time.Hour).Format(time.RFC3339)),
					attr("orders", schematype.AttributeNumber, "2.5"), attr("city", schematype.AttributeString, "Lyon")},
				wrote: map[int]time.Duration{1: 40 * 24 * time.Hour}},
			{name: "plain", tags: []string{"newsletter"}, optIn: entcontact.OptInUNKNOWN,
				attrs: []schematype.ContactAttribute{attr("orders", schematype.AttributeString, "12"), attr("member", schematype.AttributeBool, "false")},
				wrote: map[int]time.Duration{1: 24 * time.Hour}},
			{name: "nobody", optIn: entcontact.OptInUNKNOWN},
			{name: "group", tags: []string{"vip", "paris"}, optIn: entcontact.OptInUNKNOWN, wrote: map[int]time.Duration{0: time.Hour}, group: true},
		}
		for k, p := range plants {
			c, err := db.Client.Contact.Create().SetWaID("33611" + string(rune('0'+i)) + string(rune('0'+k))).
				SetProfileName(p.name).SetTags(append([]string{}, p.tags...)).SetAttributes(p.attrs).SetOptIn(p.optIn).Save(ctx)
			require.NoError(t, err)
			for n, ago := range p.wrote {
				cr := db.Client.Conversation.Create().SetNumberID(nums[n]).SetContactID(c.ID).SetLastCustomerMessageAt(now.Add(-ago))
				if p.group {
					g, err := db.Client.Group.Create().SetNumberID(nums[n]).SetSubject("g").Save(ctx)
					require.NoError(t, err)
					cr.SetGroupID(g.ID)
				}
				require.NoError(t, cr.Exec(ctx))
			}
			if slug == "shop" {
				b.ids[p.name] = c.ID
			}
		}
		erased, err := db.Client.Contact.Create().SetWaID("erased-x" + slug).SetTags([]string{"vip"}).SetErasedAt(now).Save(ctx)
		require.NoError(t, err)
		_ = erased
		b.ctx, b.numbers = ctx, nums
	}
	return b
}

func (b testBundle) names(t *testing.T, f segment.Filter) []string {
	t.Helper()
	p, err := b.segments.Preview(b.ctx, f, segment.MaxSample)
	require.NoError(t, err)
	var out []string
	for _, c := range p.Sample {
		out = append(out, c.ProfileName)
	}
	slices.Sort(out)
	require.Len(t, out, p.Count, "the count and the sample agree on a small segment")
	return out
}

func TestFilters(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		tm := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
		tests := []struct {
			name   string
			filter segment.Filter
			want   []string
		}{
			{"everyone but groups and the erased", segment.Filter{}, []string{"nobody", "plain", "vip-buyer", "vip-old"}},
			{"tags all", segment.Filter{TagsAll: []string{"VIP ", "paris"}}, []string{"vip-buyer"}},
			{"tags any", segment.Filter{TagsAny: []string{"paris", "newsletter"}}, []string{"plain", "vip-buyer"}},
			{"tags none", segment.Filter{TagsNone: []string{"vip"}}, []string{"nobody", "plain"}},
			{"bought in the last 30 days", segment.Filter{Attributes: []segment.AttributePredicate{
				{Key: "last_purchase_at", Type: schematype.AttributeTime, Op: segment.OpWithinDays, Value: "30"}}}, []string{"vip-buyer"}},
			{"bought before", segment.Filter{Attributes: []segment.AttributePredicate{
				{Key: "last_purchase_at", Type: schematype.AttributeTime, Op: segment.OpBefore, Value: tm(-30 * 24 * time.Hour)}}}, []string{"vip-old"}},
			{"bought after", segment.Filter{Attributes: []segment.AttributePredicate{
				{Key: "last_purchase_at", Type: schematype.AttributeTime, Op: segment.OpAfter, Value: tm(-30 * 24 * time.Hour)}}}, []string{"vip-buyer"}},
			{"number comparison ignores strings", segment.Filter{Attributes: []segment.AttributePredicate{
				{Key: "orders", Type: schematype.AttributeNumber, Op: segment.OpGTE, Value: "3"}}}, []string{"vip-buyer"}},
			{"number less than a decimal", segment.Filter{Attributes: []segment.AttributePredicate{
				{Key: "orders", Type: schematype.AttributeNumber, Op: segment.OpLT, Value: "2.6"}}}, []string{"vip-old"}},
			{"number equality", segment.Filter{Attributes: []segment.AttributePredicate{
				{Key: "orders", Type: schematype.AttributeNumber, Op: segment.OpEq, Value: "12.0"}}}, []string{"vip-buyer"}},
			{"string equality", segment.Filter{Attributes: []segment.AttributePredicate{
				{Key: "orders", Type: schematype.AttributeString, Op: segment.OpEq, Value: "12"}}}, []string{"plain"}},
			{"string prefix", segment.Filter{Attributes: []segment.AttributePredicate{
				{Key: "city", Type: schematype.AttributeString, Op: segment.OpPrefix, Value: "Paris"}}}, []string{"vip-buyer"}},
			{"prefix is case-sensitive", segment.Filter{Attributes: []segment.AttributePredicate{
				{Key: "city", Type: schematype.AttributeString, Op: segment.OpPrefix, Value: "paris"}}}, nil},
			{"bool", segment.Filter{Attributes: []segment.AttributePredicate{
				{Key: "member", Type: schematype.AttributeBool, Op: segment.OpEq, Value: "FALSE"}}}, []string{"plain"}},
			{"exists", segment.Filter{Attributes: []segment.AttributePredicate{
				{Key: "city", Type: schematype.AttributeString, Op: segment.OpExists}}}, []string{"vip-buyer", "vip-old"}},
			{"opt-in", segment.Filter{OptIn: []string{"opted_in", "UNKNOWN"}}, []string{"nobody", "plain", "vip-buyer"}},
			{"talked to a number", segment.Filter{NumberIDs: []string{b.numbers[1]}}, []string{"plain", "vip-old"}},
			{"wrote within 7 days", segment.Filter{InboundWithinDays: 7}, []string{"plain", "vip-buyer"}},
			{"wrote to a number within 7 days", segment.Filter{NumberIDs: []string{b.numbers[1]}, InboundWithinDays: 7}, []string{"plain"}},
			{"everything at once", segment.Filter{TagsAll: []string{"vip"}, TagsNone: []string{"newsletter"}, OptIn: []string{"OPTED_IN"},
				Attributes: []segment.AttributePredicate{
					{Key: "last_purchase_at", Type: schematype.AttributeTime, Op: segment.OpWithinDays, Value: "30"},
					{Key: "orders", Type: schematype.AttributeNumber, Op: segment.OpGT, Value: "10"}},
				NumberIDs: []string{b.numbers[0]}, InboundWithinDays: 1}, []string{"vip-buyer"}},
			// On SQLite one condition drives and the others are asked per
			// contact: these pick each kind of driver.
			{"recent writer, by attribute, not tagged newsletter", segment.Filter{InboundWithinDays: 7, TagsNone: []string{"newsletter"},
				Attributes: []segment.AttributePredicate{{Key: "orders", Type: schematype.AttributeNumber, Op: segment.OpGTE, Value: "3"}}},
				[]string{"vip-buyer"}},
			{"two attributes", segment.Filter{Attributes: []segment.AttributePredicate{
				{Key: "city", Type: schematype.AttributeString, Op: segment.OpExists},
				{Key: "last_purchase_at", Type: schematype.AttributeTime, Op: segment.OpBefore, Value: tm(-30 * 24 * time.Hour)}}},
				[]string{"vip-old"}},
			{"two tags all, a number, an attribute", segment.Filter{TagsAll: []string{"paris", "vip"}, NumberIDs: []string{b.numbers[0]},
				Attributes: []segment.AttributePredicate{{Key: "city", Type: schematype.AttributeString, Op: segment.OpPrefix, Value: "Par"}}},
				[]string{"vip-buyer"}},
			{"tags any and none that exclude everyone", segment.Filter{TagsAny: []string{"vip"}, TagsNone: []string{"vip"}}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				require.Equal(t, tt.want, b.names(t, tt.filter))
			})
		}
	})
}

// TestSideTablesFollowContacts: the triggers keep tags and attributes in
// step with every write of a contact, and a deleted (merged) contact leaves
// nothing behind.
func TestSideTablesFollowContacts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		vip := segment.Filter{TagsAny: []string{"vip"}}
		recent := segment.Filter{Attributes: []segment.AttributePredicate{
			{Key: "last_purchase_at", Type: schematype.AttributeTime, Op: segment.OpWithinDays, Value: "30"}}}
		require.Equal(t, []string{"vip-buyer", "vip-old"}, b.names(t, vip))

		svc := contact.NewService(db.Client, nil)
		_, err := svc.Tag(b.ctx, b.ids["vip-old"], []string{"gold"}, []string{"vip"})
		require.NoError(t, err)
		_, err = svc.SetAttributes(b.ctx, b.ids["plain"], []schematype.ContactAttribute{
			attr("last_purchase_at", schematype.AttributeTime, now.Add(-time.Hour).Format(time.RFC3339))})
		require.NoError(t, err)
		require.Equal(t, []string{"vip-buyer"}, b.names(t, vip))
		require.Equal(t, []string{"plain", "vip-buyer"}, b.names(t, recent))

		_, err = db.Client.Conversation.Delete().Where(conversation.ContactID(b.ids["vip-buyer"])).Exec(b.ctx)
		require.NoError(t, err)
		require.NoError(t, db.Client.Contact.DeleteOneID(b.ids["vip-buyer"]).Exec(b.ctx))
		require.Equal(t, []string{"plain"}, b.names(t, recent))
		for _, table := range []string{segment.TagsTable, segment.AttributesTable} {
			rows, err := db.SQL.QueryContext(b.ctx, "SELECT count(*) FROM "+table+" WHERE contact_id = '"+b.ids["vip-buyer"]+"'")
			require.NoError(t, err)
			require.True(t, rows.Next())
			var n int
			require.NoError(t, rows.Scan(&n))
			require.NoError(t, rows.Close())
			require.Zero(t, n, table)
		}
	})
}

func TestBadFilters(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, dialect.SQLite)
	b := setup(t, db)
	pred := func(key string, typ schematype.AttributeType, op, value string) segment.Filter {
		return segment.Filter{Attributes: []segment.AttributePredicate{{Key: key, Type: typ, Op: op, Value: value}}}
	}
	tests := []struct {
		name   string
		filter segment.Filter
		field  string
	}{
		{"prefix on a number", pred("orders", schematype.AttributeNumber, segment.OpPrefix, "1"), "attributes"},
		{"not a number", pred("orders", schematype.AttributeNumber, segment.OpGT, "ten"), "attributes"},
		{"not a time", pred("at", schematype.AttributeTime, segment.OpBefore, "yesterday"), "attributes"},
		{"zero days", pred("at", schematype.AttributeTime, segment.OpWithinDays, "0"), "attributes"},
		{"unknown type", pred("at", "DATE", segment.OpEq, "x"), "attributes"},
		{"unknown op", pred("at", schematype.AttributeString, "LIKE", "x"), "attributes"},
		{"no key", pred(" ", schematype.AttributeString, segment.OpEq, "x"), "attributes"},
		{"empty prefix", pred("city", schematype.AttributeString, segment.OpPrefix, ""), "attributes"},
		{"unknown opt-in", segment.Filter{OptIn: []string{"MAYBE"}}, "optIn"},
		{"negative days", segment.Filter{InboundWithinDays: -1}, "inboundWithinDays"},
		{"long tag", segment.Filter{TagsAny: []string{string(make([]byte, 51))}}, "tags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.segments.Count(b.ctx, tt.filter)
			var e *apperr.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, apperr.InvalidInput, e.Code, e.Message)
			require.Equal(t, tt.field, e.Field, e.Message)
		})
	}
	_, err := b.segments.Count(b.ctx, segment.Filter{NumberIDs: []string{"num_nope"}})
	require.Equal(t, apperr.NotFound, apperr.CodeOf(err), "a number of another tenant is not found")
	_, err = b.segments.Sample(b.ctx, segment.Filter{}, segment.MaxSample+1)
	require.Equal(t, apperr.InvalidInput, apperr.CodeOf(err))
}

func TestSegmentsAreAudited(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, dialect.SQLite)
	b := setup(t, db)
	in := segment.Input{Name: " VIP buyers ", Filter: segment.Filter{TagsAll: []string{"VIP"}}}
	seg, err := b.segments.Create(b.ctx, in)
	require.NoError(t, err)
	require.Equal(t, "VIP buyers", seg.Name)
	require.Equal(t, []string{"vip"}, seg.Filter.TagsAll, "saved normalised")
	_, err = b.segments.Create(b.ctx, in)
	require.Equal(t, apperr.Conflict, apperr.CodeOf(err))

	in.Filter.OptIn = []string{"OPTED_IN"}
	seg, err = b.segments.Update(b.ctx, seg.ID, in)
	require.NoError(t, err)
	require.Equal(t, []string{"OPTED_IN"}, seg.Filter.OptIn)
	_, err = b.segments.Delete(b.ctx, seg.ID)
	require.NoError(t, err)
	_, err = b.segments.Delete(b.ctx, seg.ID)
	require.True(t, ent.IsNotFound(err))

	actions, err := db.Client.AuditEvent.Query().Where(auditevent.TargetID(seg.ID)).
		Order(ent.Asc(auditevent.FieldSeq)).Select(auditevent.FieldAction).Strings(b.ctx)
	require.NoError(t, err)
	require.Equal(t, []string{segment.ActionCreated, segment.ActionUpdated, segment.ActionDeleted}, actions)
}
