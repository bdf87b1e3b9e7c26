package contact_test

import (
	"context"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/contact"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/auditevent"
	entcontact "github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/segment"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// crmFile has good rows and bad ones; the comment after each says what
// becomes of it (the comments are not part of the file).
var crmFile = strings.Join([]string{
	`phone,user_id,name,tags,opt_in,opt_in_source,last_purchase_at:time,orders:number,member:bool`, // 1
	`+33 6 12 34 56 78,,Alice,VIP;paris,OPTED_IN,,2026-11-01T10:00:00+01:00,3,true`,                // 2 created
	`33698765432,,Bob,,,,,,`,                   // 3 created
	`not-a-phone,,Eve,,,,,,`,                   // 4 refused: phone
	`,,Nobody,,,,,,`,                           // 5 refused: no id
	`33611111111,,Carl,,MAYBE,,,,`,             // 6 refused: opt_in
	`33622222222,,Dan,,,,yesterday,,`,          // 7 refused: time
	`33633333333,,Ann,,,,,many,`,               // 8 refused: number
	`33644444444,,Carl`,                        // 9 refused: field count
	`+33612345678,US.123abc,,gold,,,,5,`,       // 10 Alice again: learns her BSUID, a tag, orders 5
	`,US.999xyz,Bsuid Only,,OPTED_OUT,form,,,`, // 11 created, addressed by BSUID
	`33698765432,US.123abc,,,,,,,`,             // 12 refused: Bob's phone, Alice's BSUID
	`33655555555,,"Broken "quote,,,,,,`,        // 13 refused: not CSV
	`33666666666,,Zoe,,,opt_source_alone,,,`,   // 14 refused: a source without opt_in
}, "\n") + "\n"

var crmRefused = []contact.RefusedRow{
	{Line: 4, Reason: `phone "not-a-phone" is not a phone number (country code and 6 to 15 digits)`},
	{Line: 5, Reason: "no phone and no user_id: nothing identifies the contact"},
	{Line: 6, Reason: `opt_in "MAYBE" is not UNKNOWN, OPTED_IN or OPTED_OUT`},
	{Line: 7, Reason: `attribute "last_purchase_at": "yesterday" is not an RFC 3339 time`},
	{Line: 8, Reason: `attribute "orders": "many" is not a number`},
	{Line: 9, Reason: "3 fields where the header has 9"},
	{Line: 12, Reason: "phone and user_id belong to two different contacts"},
	{Line: 13, Reason: `not readable as CSV: extraneous or missing " in quoted-field`},
	{Line: 14, Reason: "opt_in_source and opt_in_at need an opt_in"},
}

func importTenant(t *testing.T, db *store.DB) (context.Context, *contact.Service) {
	t.Helper()
	ten, err := db.Client.Tenant.Create().SetName("crm").SetSlug("crm").Save(viewer.Platform(t.Context()))
	require.NoError(t, err)
	return viewer.System(t.Context(), ten.ID), contact.NewService(db.Client, nil)
}

// TestImportReportsBadRowsByLine is must-show 4's small half: each bad row
// is refused with its line and why, the good ones are written (per row), or
// none is (all or nothing); phone and BSUID find the same contact.
func TestImportReportsBadRowsByLine(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, svc := importTenant(t, db)

		res, err := svc.Import(ctx, strings.NewReader(crmFile), contact.ImportOptions{Mode: contact.AllOrNothing, Source: "import:crm"})
		require.NoError(t, err)
		require.Equal(t, crmRefused, res.RefusedRows)
		require.Equal(t, contact.ImportResult{Mode: contact.AllOrNothing, Rows: 13, Refused: len(crmRefused), RefusedRows: crmRefused}, res)
		n, err := db.Client.Contact.Query().Count(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "all or nothing: nothing")

		res, err = svc.Import(ctx, strings.NewReader(crmFile), contact.ImportOptions{Source: "import:crm"})
		require.NoError(t, err)
		require.Equal(t, crmRefused, res.RefusedRows)
		require.Equal(t, contact.ImportResult{Mode: contact.PerRow, Rows: 13, Created: 3, Refused: len(crmRefused), RefusedRows: crmRefused, Written: true}, res)

		alice, err := db.Client.Contact.Query().Where(entcontact.WaID("33612345678")).Only(ctx)
		require.NoError(t, err)
		require.Equal(t, "Alice", alice.ProfileName)
		require.Equal(t, "+33612345678", alice.Phone)
		require.Equal(t, "US.123abc", *alice.UserID)
		require.Equal(t, []string{"gold", "paris", "vip"}, alice.Tags)
		require.Equal(t, entcontact.OptInOPTED_IN, alice.OptIn)
		require.Equal(t, "import:crm", alice.OptInSource, "the import's source where the row names none")
		require.Equal(t, []schematype.ContactAttribute{
			{Key: "last_purchase_at", Type: schematype.AttributeTime, Value: "2026-11-01T09:00:00Z"},
			{Key: "member", Type: schematype.AttributeBool, Value: "true"},
			{Key: "orders", Type: schematype.AttributeNumber, Value: "5"},
		}, alice.Attributes)
		only, err := db.Client.Contact.Query().Where(entcontact.UserID("US.999xyz")).Only(ctx)
		require.NoError(t, err)
		require.Equal(t, "US.999xyz", only.WaID, "addressed by the BSUID")
		require.Empty(t, only.Phone)
		require.Equal(t, "form", only.OptInSource)

		// Again, with Bob's new name: found by phone, updated; the rest as it was.
		res, err = svc.Import(ctx, strings.NewReader("phone,name\n33698765432,Bob B\n+33612345678,Alice\n"), contact.ImportOptions{})
		require.NoError(t, err)
		require.Equal(t, 2, res.Updated)
		require.Zero(t, res.Created)

		// What was imported is what segments see.
		segments := segment.New(db.Client, clock.Real())
		count, err := segments.Count(ctx, segment.Filter{TagsAll: []string{"vip"}, Attributes: []segment.AttributePredicate{
			{Key: "orders", Type: schematype.AttributeNumber, Op: segment.OpGTE, Value: "5"}}})
		require.NoError(t, err)
		require.Equal(t, 1, count)

		summaries, err := db.Client.AuditEvent.Query().Where(auditevent.Action(contact.ActionImported)).
			Order(ent.Asc(auditevent.FieldSeq)).Select(auditevent.FieldSummary).Strings(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{
			"imported contacts (ALL_OR_NOTHING): 13 rows read, 0 created, 0 updated, 9 refused; nothing written",
			"imported contacts (PER_ROW): 13 rows read, 3 created, 0 updated, 9 refused",
			"imported contacts (PER_ROW): 2 rows read, 0 created, 2 updated, 0 refused",
		}, summaries)
	})
}

func TestImportRefusesBadFiles(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, dialect.SQLite)
	ctx, svc := importTenant(t, db)
	tests := []struct {
		name, file string
		opts       contact.ImportOptions
		field      string
	}{
		{"empty", "", contact.ImportOptions{}, "header"},
		{"unknown column", "phone,email\n", contact.ImportOptions{}, "header"},
		{"bad attribute type", "phone,born:date\n", contact.ImportOptions{}, "header"},
		{"no id column", "name,tags\n", contact.ImportOptions{}, "header"},
		{"twice a column", "phone,phone\n", contact.ImportOptions{}, "header"},
		{"unknown mode", "phone\n", contact.ImportOptions{Mode: "SOME"}, "mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.Import(ctx, strings.NewReader(tt.file), tt.opts)
			var e *apperr.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, apperr.InvalidInput, e.Code, e.Message)
			require.Equal(t, tt.field, e.Field, e.Message)
		})
	}
}
