package contact

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	entcontact "github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// Import modes: what a refused row does to the others.
const (
	// PerRow writes every acceptable row and reports the refused ones.
	PerRow = "PER_ROW"
	// AllOrNothing writes nothing when a row is refused.
	AllOrNothing = "ALL_OR_NOTHING"
)

// Import limits.
const (
	// importBatch is how many rows are looked up and written together: 100
	// contacts of 13 columns make one INSERT of 1,300 parameters; 500 made
	// the import 1.7 times slower on SQLite, whose driver binds parameters
	// in O(p²) (notes, store/bulk).
	importBatch = 100
	// MaxReportedRows is how many refused rows a result lists; Refused counts
	// them all.
	MaxReportedRows = 1000
	// MaxImportRows is the most data rows one import reads.
	MaxImportRows = 1_000_000
)

// Audit actions.
const (
	ActionImported = "contact.import"
	ActionExported = "contact.export"
)

// ImportOptions say how an import treats refused rows and where its
// opt-ins come from.
type ImportOptions struct {
	Mode string // PerRow (default) or AllOrNothing
	// Source is the opt-in source of rows that set opt_in without an
	// opt_in_source, e.g. "import:crm-2026-11".
	Source string
}

// RefusedRow is a row the import did not write, by its line in the file
// (the header is line 1).
type RefusedRow struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// ImportResult is what an import did.
type ImportResult struct {
	Mode    string `json:"mode"`
	Rows    int    `json:"rows"`    // data rows read
	Created int    `json:"created"` // contacts created
	Updated int    `json:"updated"` // contacts found by phone or user_id and updated
	Refused int    `json:"refused"`
	// RefusedRows lists the first MaxReportedRows refused rows.
	RefusedRows []RefusedRow `json:"refusedRows"`
	// Written is false when nothing was kept: an all-or-nothing import with a
	// refused row.
	Written bool `json:"written"`
}

func (r *ImportResult) refuse(line int, format string, args ...any) {
	r.Refused++
	if len(r.RefusedRows) < MaxReportedRows {
		r.RefusedRows = append(r.RefusedRows, RefusedRow{Line: line, Reason: fmt.Sprintf(format, args...)})
	}
}

// importRow is one valid row of an import.
type importRow struct {
	line         int
	waID, userID string // the phone's wa_id (digits), the BSUID; at least one
	name         *string
	tags         []string
	attrs        []schematype.ContactAttribute
	optIn        *entcontact.OptIn
	optInSource  string
	optInAt      *time.Time
}

// columns is how an import reads its header: the known columns by index,
// and the typed attribute columns ("last_purchase_at:time").
type columns struct {
	index map[string]int
	attrs []attrColumn
}

type attrColumn struct {
	i   int
	key string
	typ schematype.AttributeType
}

// ImportColumns are the columns an import understands besides typed
// attributes, written key:type (string, number, time, bool).
var ImportColumns = []string{"phone", "user_id", "name", "tags", "opt_in", "opt_in_source", "opt_in_at"}

// ignoredColumns are an export's columns an import does not set (the id,
// how the contact is addressed, what WhatsApp tells): an export reads back
// as an import.
var ignoredColumns = []string{"id", "wa_id", "username", "created_at"}

func readHeader(header []string) (columns, error) {
	c := columns{index: map[string]int{}}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if key, typ, ok := strings.Cut(h, ":"); ok {
			t := schematype.AttributeType(strings.ToUpper(strings.TrimSpace(typ)))
			key = strings.TrimSpace(key)
			if _, known := ops[t]; !known || key == "" || len(key) > MaxAttrKeyLen {
				return c, apperr.Invalid("header", "column %d (%q): an attribute column is key:type, type string, number, time or bool", i+1, header[i])
			}
			c.attrs = append(c.attrs, attrColumn{i: i, key: key, typ: t})
			continue
		}
		if slices.Contains(ignoredColumns, h) {
			continue
		}
		if !slices.Contains(ImportColumns, h) {
			return c, apperr.Invalid("header", "column %d (%q) is unknown: use %s or key:type for an attribute",
				i+1, header[i], strings.Join(ImportColumns, ", "))
		}
		if _, dup := c.index[h]; dup {
			return c, apperr.Invalid("header", "column %q is given twice", h)
		}
		c.index[h] = i
	}
	if _, ok := c.index["phone"]; !ok {
		if _, ok := c.index["user_id"]; !ok {
			return c, apperr.Invalid("header", "a phone or a user_id column is needed to find or create each contact")
		}
	}
	if len(c.attrs) > MaxAttributes {
		return c, apperr.Invalid("header", "at most %d attribute columns", MaxAttributes)
	}
	return c, nil
}

// ops lists the attribute types a column may declare.
var ops = map[schematype.AttributeType]bool{
	schematype.AttributeString: true, schematype.AttributeNumber: true,
	schematype.AttributeTime: true, schematype.AttributeBool: true,
}

func (c columns) get(rec []string, name string) string {
	if i, ok := c.index[name]; ok && i < len(rec) {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

// parse reads one record into a row, or says why it is refused.
func (c columns) parse(rec []string, line int, opts ImportOptions) (importRow, error) {
	row := importRow{line: line}
	if phone := c.get(rec, "phone"); phone != "" {
		digits, ok := PhoneDigits(phone)
		if !ok {
			return row, fmt.Errorf("phone %q is not a phone number (country code and 6 to 15 digits)", phone)
		}
		row.waID = digits
	}
	if uid := c.get(rec, "user_id"); uid != "" {
		if !whatsapp.IsBSUID(uid) || len(uid) > 160 {
			return row, fmt.Errorf("user_id %q is not a business-scoped user id (CC.xxxx)", uid)
		}
		row.userID = uid
	}
	if row.waID == "" && row.userID == "" {
		return row, errors.New("no phone and no user_id: nothing identifies the contact")
	}
	if _, ok := c.index["name"]; ok {
		name := c.get(rec, "name")
		if len(name) > 200 {
			return row, errors.New("name is longer than 200 characters")
		}
		if name != "" {
			row.name = &name
		}
	}
	if tags := c.get(rec, "tags"); tags != "" {
		t, err := NormalizeTags(strings.Split(tags, ";"))
		if err != nil {
			return row, errors.New(apperrMessage(err))
		}
		row.tags = t
	}
	if s := c.get(rec, "opt_in"); s != "" {
		o := entcontact.OptIn(strings.ToUpper(s))
		if entcontact.OptInValidator(o) != nil {
			return row, fmt.Errorf("opt_in %q is not UNKNOWN, OPTED_IN or OPTED_OUT", s)
		}
		row.optIn = &o
		row.optInSource = c.get(rec, "opt_in_source")
		if row.optInSource == "" {
			row.optInSource = opts.Source
		}
		if len(row.optInSource) > 200 {
			return row, errors.New("opt_in_source is longer than 200 characters")
		}
		if at := c.get(rec, "opt_in_at"); at != "" {
			t, err := time.Parse(time.RFC3339, at)
			if err != nil {
				return row, fmt.Errorf("opt_in_at %q is not an RFC 3339 time", at)
			}
			row.optInAt = &t
		}
	} else if c.get(rec, "opt_in_source") != "" || c.get(rec, "opt_in_at") != "" {
		return row, errors.New("opt_in_source and opt_in_at need an opt_in")
	}
	var attrs []schematype.ContactAttribute
	for _, a := range c.attrs {
		if a.i < len(rec) && strings.TrimSpace(rec[a.i]) != "" {
			attrs = append(attrs, schematype.ContactAttribute{Key: a.key, Type: a.typ, Value: rec[a.i]})
		}
	}
	if len(attrs) > 0 {
		norm, err := NormalizeAttributes(attrs)
		if err != nil {
			return row, errors.New(apperrMessage(err))
		}
		row.attrs = norm
	}
	return row, nil
}

func apperrMessage(err error) string {
	var e *apperr.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// PhoneDigits reads a phone number written for people (+49 30 1234-5678,
// (030) …) as its WhatsApp id: the digits, with the country code, 6 to 15 of
// them (E.164).
func PhoneDigits(s string) (string, bool) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == '.':
		default:
			return "", false
		}
	}
	d := b.String()
	return d, len(d) >= 6 && len(d) <= 15 && d[0] != '0'
}

// Import reads a CSV of contacts from r, streamed (a batch of rows at a
// time, whatever the size), and creates or updates one contact per row,
// found by user_id (BSUID) or phone like ingest finds them: imported tags
// are added to the contact's, imported attributes set by key (the others
// stay), opt_in, when given, sets the state with its source and time. Rows
// that cannot be read, or whose phone and user_id name two different
// contacts, are refused with their line and why. The import is audited
// once it ends (who, rows read, created, updated, refused).
//
// The caller needs contact.import and a role that sees every conversation:
// an import upserts across the whole contact list. Errors are for the file
// as a whole (a bad header: INVALID_INPUT) or an outage; refused rows are in
// the result. Per-row contact events are not published (one import can
// change 100,000 contacts); the audit record tells of the import.
func (s *Service) Import(ctx context.Context, r io.Reader, opts ImportOptions) (ImportResult, error) {
	v := viewer.FromContext(ctx)
	switch {
	case v == nil:
		return ImportResult{}, apperr.New(apperr.Unauthenticated, "sign in first")
	case !policy.Can(ctx, policy.ContactImport):
		return ImportResult{}, apperr.New(apperr.Forbidden, "your role may not import contacts (contact.import)")
	case !v.Scope.AllConversations:
		return ImportResult{}, apperr.New(apperr.Forbidden, "an import updates any contact of the company: it needs a role that sees every conversation")
	}
	if opts.Mode == "" {
		opts.Mode = PerRow
	}
	if opts.Mode != PerRow && opts.Mode != AllOrNothing {
		return ImportResult{}, apperr.Invalid("mode", "must be %s or %s", PerRow, AllOrNothing)
	}
	if len(opts.Source) > 200 {
		return ImportResult{}, apperr.Invalid("source", "at most 200 characters")
	}
	res := ImportResult{Mode: opts.Mode, RefusedRows: []RefusedRow{}}
	var err error
	if opts.Mode == AllOrNothing {
		err = store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
			if err := s.importRows(ctx, r, opts, &res, func(fn func(*ent.Tx) error) error { return fn(tx) }); err != nil {
				return err
			}
			if res.Refused > 0 {
				return errRefused
			}
			return nil
		})
		if errors.Is(err, errRefused) {
			err = nil
		}
		res.Written = err == nil && res.Refused == 0
		if !res.Written {
			res.Created, res.Updated = 0, 0
		}
	} else {
		err = s.importRows(ctx, r, opts, &res, func(fn func(*ent.Tx) error) error {
			return store.WithTx(ctx, s.client, func(_ context.Context, tx *ent.Tx) error { return fn(tx) })
		})
		res.Written = res.Created+res.Updated > 0
	}
	// Rows refused by their content are reported as read, those refused
	// against the database when their batch is written: in line order.
	slices.SortStableFunc(res.RefusedRows, func(a, b RefusedRow) int { return a.Line - b.Line })
	if aerr := s.recordImport(ctx, res, err); aerr != nil && err == nil {
		err = aerr
	}
	return res, err
}

var errRefused = errors.New("a row was refused")

// importRows reads r batch by batch; inTx runs each batch's writes in a
// transaction (its own, or the import's).
func (s *Service) importRows(ctx context.Context, r io.Reader, opts ImportOptions, res *ImportResult, inTx func(func(*ent.Tx) error) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return apperr.Invalid("header", "the file is empty: the first line names the columns")
	}
	if err != nil {
		return apperr.Invalid("header", "the first line cannot be read: %v", err)
	}
	cols, err := readHeader(header)
	if err != nil {
		return err
	}
	batch := make([]importRow, 0, importBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var created, updated int
		err := inTx(func(tx *ent.Tx) (err error) {
			created, updated, err = s.writeBatch(ctx, tx, batch, res)
			return err
		})
		if err == nil {
			res.Created += created
			res.Updated += updated
		}
		batch = batch[:0]
		return err
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return err // the body itself failed
			}
			res.Rows++
			res.refuse(pe.StartLine, "not readable as CSV: %v", pe.Err)
			continue
		}
		if res.Rows == MaxImportRows {
			return apperr.New(apperr.PayloadTooLarge, "an import reads at most %d rows: split the file", MaxImportRows)
		}
		res.Rows++
		if isBlank(rec) {
			res.refuse(line, "empty row")
			continue
		}
		if len(rec) != len(header) {
			res.refuse(line, "%d fields where the header has %d", len(rec), len(header))
			continue
		}
		row, err := cols.parse(rec, line, opts)
		if err != nil {
			res.refuse(line, "%v", err)
			continue
		}
		batch = append(batch, row)
		if len(batch) == importBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func isBlank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// writeBatch finds the batch's contacts with one query, then creates the
// new ones in bulk and updates the others. Rows naming a contact an earlier
// row of the batch created or changed apply to it in turn.
func (s *Service) writeBatch(ctx context.Context, tx *ent.Tx, batch []importRow, res *ImportResult) (created, updated int, err error) {
	var keys []string
	for _, r := range batch {
		if r.waID != "" {
			keys = append(keys, r.waID)
		}
		if r.userID != "" {
			keys = append(keys, r.userID)
		}
	}
	found, err := tx.Contact.Query().Where(entcontact.Or(entcontact.WaIDIn(keys...), entcontact.UserIDIn(keys...))).All(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("import: find contacts: %w", err)
	}
	byWaID, byUser := map[string]*pending{}, map[string]*pending{}
	index := func(p *pending) {
		byWaID[p.c.WaID] = p
		if p.c.UserID != nil {
			byUser[*p.c.UserID] = p
		}
	}
	for _, c := range found {
		index(&pending{c: c})
	}
	var order []*pending
	for _, r := range batch {
		var byPhone, byID *pending
		if r.waID != "" {
			byPhone = byWaID[r.waID]
		}
		if r.userID != "" {
			if byID = byUser[r.userID]; byID == nil {
				byID = byWaID[r.userID] // known by its BSUID alone
			}
		}
		p := byPhone
		switch {
		case byPhone != nil && byID != nil && byPhone != byID:
			res.refuse(r.line, "phone and user_id belong to two different contacts")
			continue
		case byPhone != nil && r.userID != "" && byPhone.c.UserID != nil && *byPhone.c.UserID != r.userID:
			res.refuse(r.line, "the phone's contact has another user_id")
			continue
		case p == nil && byID != nil:
			p = byID
		case p == nil:
			p = &pending{c: &ent.Contact{WaID: r.userID, Tags: []string{}, Attributes: []schematype.ContactAttribute{}, OptIn: entcontact.OptInUNKNOWN}, isNew: true}
		}
		if err := p.apply(r); err != nil {
			res.refuse(r.line, "%v", err)
			continue
		}
		if !p.listed {
			p.listed = true
			order = append(order, p)
		}
		index(p)
	}
	var creates []*ent.ContactCreate
	for _, p := range order {
		c := p.c
		if p.isNew {
			cr := tx.Contact.Create().SetWaID(c.WaID).SetPhone(c.Phone).SetProfileName(c.ProfileName).
				SetTags(c.Tags).SetAttributes(c.Attributes).SetOptIn(c.OptIn).SetOptInSource(c.OptInSource).
				SetNillableOptInAt(c.OptInAt).SetNillableUserID(c.UserID)
			creates = append(creates, cr)
			continue
		}
		if !p.changed {
			updated++ // found and already as the row says
			continue
		}
		err := tx.Contact.UpdateOneID(c.ID).SetWaID(c.WaID).SetPhone(c.Phone).SetProfileName(c.ProfileName).
			SetTags(c.Tags).SetAttributes(c.Attributes).SetOptIn(c.OptIn).SetOptInSource(c.OptInSource).
			SetNillableOptInAt(c.OptInAt).SetNillableUserID(c.UserID).Exec(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("import: update contact %s: %w", c.ID, err)
		}
		updated++
	}
	if len(creates) > 0 {
		if err := tx.Contact.CreateBulk(creates...).Exec(ctx); err != nil {
			return 0, 0, fmt.Errorf("import: create contacts: %w", err)
		}
	}
	return len(creates), updated, nil
}

// pending is a contact as the batch leaves it.
type pending struct {
	c       *ent.Contact
	isNew   bool
	changed bool
	listed  bool
}

// apply folds a row into the contact: it learns the ids it lacks, adds the
// tags, sets the attributes by key, and the profile name and opt-in when
// given.
func (p *pending) apply(r importRow) error {
	c := *p.c // a copy: a refused row changes nothing
	if r.waID != "" && c.WaID != r.waID {
		// New, or known by its BSUID alone until now: the phone is learnt
		// and becomes how it is addressed.
		c.WaID, c.Phone = r.waID, "+"+r.waID
	}
	if r.userID != "" && (c.UserID == nil || *c.UserID != r.userID) {
		uid := r.userID
		c.UserID = &uid
	}
	if r.name != nil {
		c.ProfileName = *r.name
	}
	if len(r.tags) > 0 {
		tags, err := NormalizeTags(append(slices.Clone(c.Tags), r.tags...))
		if err != nil {
			return errors.New(apperrMessage(err))
		}
		c.Tags = tags
	}
	if len(r.attrs) > 0 {
		merged := slices.Clone(c.Attributes)
		for _, a := range r.attrs {
			if i := slices.IndexFunc(merged, func(x schematype.ContactAttribute) bool { return x.Key == a.Key }); i >= 0 {
				merged[i] = a
			} else {
				merged = append(merged, a)
			}
		}
		norm, err := NormalizeAttributes(merged)
		if err != nil {
			return errors.New(apperrMessage(err))
		}
		c.Attributes = norm
	}
	if r.optIn != nil && (c.OptIn != *r.optIn || r.optInAt != nil) {
		c.OptIn, c.OptInSource = *r.optIn, r.optInSource
		at := time.Now().UTC()
		if r.optInAt != nil {
			at = r.optInAt.UTC()
		}
		c.OptInAt = &at
	}
	p.changed = p.changed || !reflectEqual(*p.c, c)
	*p.c = c
	return nil
}

func reflectEqual(a, b ent.Contact) bool {
	return a.WaID == b.WaID && a.Phone == b.Phone && a.ProfileName == b.ProfileName &&
		slices.Equal(a.Tags, b.Tags) && slices.Equal(a.Attributes, b.Attributes) && a.OptIn == b.OptIn &&
		a.OptInSource == b.OptInSource && timeEqual(a.OptInAt, b.OptInAt) && strEqual(a.UserID, b.UserID)
}

func timeEqual(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}

func strEqual(a, b *string) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// recordImport audits the import in a transaction of its own.
func (s *Service) recordImport(ctx context.Context, res ImportResult, failed error) error {
	ctx = context.WithoutCancel(ctx)
	summary := fmt.Sprintf("imported contacts (%s): %d rows read, %d created, %d updated, %d refused",
		res.Mode, res.Rows, res.Created, res.Updated, res.Refused)
	switch {
	case failed != nil:
		summary = "interrupted: " + summary
	case !res.Written && res.Mode == AllOrNothing:
		summary += "; nothing written"
	}
	return store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		return audit.Record(ctx, tx, audit.Event{Action: ActionImported, Summary: summary,
			After: map[string]any{"mode": res.Mode, "rows": res.Rows, "created": res.Created, "updated": res.Updated, "refused": res.Refused}})
	})
}
