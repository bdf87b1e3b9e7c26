package contact

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/attachment"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	entcontact "github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/view"
	"github.com/switchboard-dev/switchboard/viewer"
)

// exportPage is how many contacts an export holds at once.
const exportPage = 1000

// exportColumns are an export's fixed columns, by the import's names (an
// export reads back as an import), with the GraphQL field each shows: the
// field rules of that field decide what the column holds.
var exportColumns = []struct{ name, field string }{
	{"id", "id"}, {"phone", "phone"}, {"wa_id", "waID"}, {"user_id", "userID"}, {"username", "username"},
	{"name", "profileName"}, {"tags", "tags"}, {"opt_in", "optIn"}, {"opt_in_source", "optInSource"},
	{"opt_in_at", "optInAt"}, {"created_at", "createdAt"},
}

// ExportResult is what an export sent.
type ExportResult struct {
	Rows   int
	Bytes  int64
	SHA256 string
}

// Export streams the contacts the viewer of ctx may see (erased ones and
// groups left out) as CSV to w, a page at a time: the fixed columns, then one key:type
// column per attribute the tenant's contacts carry. Field rules apply as in
// the API: a masked phone is masked, a denied field is empty (denied
// attributes: no attribute columns). It is audited once it ends, also when
// it fails half way (with what was sent). ctx must carry the viewer's
// decisions (policy.NewContext).
func (s *Service) Export(ctx context.Context, w io.Writer) (ExportResult, error) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return ExportResult{}, apperr.New(apperr.Unauthenticated, "sign in first")
	}
	if !policy.Can(ctx, policy.ContactExport) {
		return ExportResult{}, apperr.New(apperr.Forbidden, "your role may not export contacts (contact.export)")
	}
	dec := policy.FromContext(ctx)
	if dec == nil {
		return ExportResult{}, apperr.New(apperr.Forbidden, "an export runs as a person or an API key, under their field rules")
	}
	var attrCols []schematype.ContactAttribute
	if dec.Field("Contact", "attributes") == policy.Allow {
		var err error
		if attrCols, err = s.attributeColumns(ctx, v.TenantID); err != nil {
			return ExportResult{}, err
		}
	}
	d := attachment.NewDigest(w)
	bw := bufio.NewWriterSize(d, 64<<10)
	out := csv.NewWriter(bw)
	var res ExportResult
	err := s.writeExport(ctx, out, dec, attrCols, &res)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	res.Bytes, res.SHA256 = d.Bytes(), d.SHA256()
	if aerr := s.recordExport(ctx, res, err); aerr != nil && err == nil {
		err = aerr
	}
	return res, err
}

func (s *Service) writeExport(ctx context.Context, out *csv.Writer, dec *policy.Decisions, attrCols []schematype.ContactAttribute, res *ExportResult) error {
	header := make([]string, 0, len(exportColumns)+len(attrCols))
	for _, c := range exportColumns {
		header = append(header, c.name)
	}
	for _, a := range attrCols {
		header = append(header, a.Key+":"+strings.ToLower(string(a.Type)))
	}
	if err := out.Write(header); err != nil {
		return err
	}
	record := make([]string, len(header))
	after := ""
	for {
		q := s.client.Contact.Query().Where(entcontact.ErasedAtIsNil(), notGroup).Order(ent.Asc(entcontact.FieldID)).Limit(exportPage)
		if after != "" {
			q.Where(entcontact.IDGT(after))
		}
		page, err := q.All(ctx)
		if err != nil {
			return err
		}
		for _, c := range page {
			fields := view.Cut(dec, "Contact", map[string]any{
				"id": c.ID, "phone": c.Phone, "waID": c.WaID, "userID": c.UserID, "username": c.Username,
				"profileName": c.ProfileName, "tags": c.Tags, "optIn": c.OptIn, "optInSource": c.OptInSource,
				"optInAt": c.OptInAt, "createdAt": c.CreatedAt,
			})
			for i, col := range exportColumns {
				record[i] = attachment.Cell(fields[col.field])
			}
			for i, a := range attrCols {
				record[len(exportColumns)+i] = attributeValue(c.Attributes, a)
			}
			if err := out.Write(record); err != nil {
				return err
			}
			res.Rows++
		}
		out.Flush()
		if err := out.Error(); err != nil {
			return err
		}
		if len(page) < exportPage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// notGroup leaves out the contacts standing for a WhatsApp group.
var notGroup = entcontact.Not(entcontact.HasConversationsWith(conversation.GroupIDNotNil()))

// attributeColumns are the attribute keys and types the tenant's contacts
// carry, from the segments' side table (one index scan).
func (s *Service) attributeColumns(ctx context.Context, tenantID string) ([]schematype.ContactAttribute, error) {
	rows, err := s.client.QueryContext(ctx,
		`SELECT DISTINCT name, type FROM contact_attribute_values WHERE tenant_id = $1 ORDER BY name, type`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("export: attribute columns: %w", err)
	}
	defer rows.Close()
	var cols []schematype.ContactAttribute
	for rows.Next() {
		var a schematype.ContactAttribute
		if err := rows.Scan(&a.Key, &a.Type); err != nil {
			return nil, err
		}
		cols = append(cols, a)
	}
	return cols, rows.Err()
}

func attributeValue(attrs []schematype.ContactAttribute, col schematype.ContactAttribute) string {
	i := slices.IndexFunc(attrs, func(a schematype.ContactAttribute) bool { return a.Key == col.Key && a.Type == col.Type })
	if i < 0 {
		return ""
	}
	return attrs[i].Value
}

// recordExport audits the export in a transaction of its own.
func (s *Service) recordExport(ctx context.Context, res ExportResult, failed error) error {
	ctx = context.WithoutCancel(ctx)
	summary := fmt.Sprintf("exported %d contacts as CSV, %d bytes, sha256 %s", res.Rows, res.Bytes, res.SHA256)
	if failed != nil {
		summary = "interrupted: " + summary
	}
	return store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		return audit.Record(ctx, tx, audit.Event{Action: ActionExported, Summary: summary,
			After: map[string]any{"rows": res.Rows, "sha256": res.SHA256}})
	})
}
