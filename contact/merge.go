package contact

import (
	"context"
	"fmt"
	"slices"

	"entgo.io/ent/dialect/sql"

	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/assignment"
	"github.com/switchboard-dev/switchboard/ent/broadcastrecipient"
	entcontact "github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Merge makes two contacts that turned out to be one person (a customer
// first known by phone and later by business-scoped id, or the reverse) one
// contact, in tx: keep survives, gone is deleted. Gone's conversations, and
// so its whole history, move to keep, and so do its routing history
// (assignments, for sticky routing) and its broadcast recipient rows (the
// frequency cap's history); tags are united; attributes are united
// with keep's value winning on a shared key; keep's profile name, username,
// parent id, phone and opt-in source are filled from gone where keep has
// none; an opt-out on either wins, then an opt-in; a legal hold on either
// stays. The merge is audited (ids only). The caller sets keep's identifiers
// afterwards (gone's are free once it is deleted) and publishes the change
// of the contact and of the conversations moved (returned).
//
// Every table that refers to a contact must be moved here.
func Merge(ctx context.Context, tx *ent.Tx, keep, gone *ent.Contact) (merged *ent.Contact, moved []string, err error) {
	if keep.ID == gone.ID || keep.TenantID != gone.TenantID {
		return nil, nil, fmt.Errorf("merge %s into %s: not two contacts of one tenant", gone.ID, keep.ID)
	}
	sctx := viewer.System(ctx, keep.TenantID) // the whole history, whoever caused it
	if moved, err = tx.Conversation.Query().Where(conversation.ContactID(gone.ID)).IDs(sctx); err != nil {
		return nil, nil, fmt.Errorf("merge %s into %s: conversations: %w", gone.ID, keep.ID, err)
	}
	if err := tx.Conversation.Update().Where(conversation.IDIn(moved...)).SetContactID(keep.ID).Exec(sctx); err != nil {
		return nil, nil, fmt.Errorf("merge %s into %s: conversations: %w", gone.ID, keep.ID, err)
	}
	// assignments.contact_id is a denormalised copy (immutable in the API).
	if _, err := tx.Assignment.Update().Where(assignment.ContactID(gone.ID)).
		Modify(func(u *sql.UpdateBuilder) { u.Set(assignment.FieldContactID, keep.ID) }).Save(sctx); err != nil {
		return nil, nil, fmt.Errorf("merge %s into %s: assignments: %w", gone.ID, keep.ID, err)
	}
	if err := moveRecipients(sctx, tx, keep.ID, gone.ID); err != nil {
		return nil, nil, fmt.Errorf("merge %s into %s: broadcast recipients: %w", gone.ID, keep.ID, err)
	}
	if err := tx.Contact.DeleteOneID(gone.ID).Exec(sctx); err != nil {
		return nil, nil, fmt.Errorf("merge %s into %s: %w", gone.ID, keep.ID, err)
	}
	u := tx.Contact.UpdateOneID(keep.ID).SetTags(unionTags(keep.Tags, gone.Tags)).
		SetAttributes(unionAttributes(keep.Attributes, gone.Attributes))
	if keep.ProfileName == "" && gone.ProfileName != "" {
		u.SetProfileName(gone.ProfileName)
	}
	if keep.Username == "" && gone.Username != "" {
		u.SetUsername(gone.Username)
	}
	if keep.ParentUserID == "" && gone.ParentUserID != "" {
		u.SetParentUserID(gone.ParentUserID)
	}
	if keep.Phone == "" && gone.Phone != "" {
		u.SetPhone(gone.Phone)
	}
	if keep.OptInSource == "" && gone.OptInSource != "" {
		u.SetOptInSource(gone.OptInSource)
	}
	if optRank[gone.OptIn] > optRank[keep.OptIn] {
		u.SetOptIn(gone.OptIn).SetNillableOptInAt(gone.OptInAt)
	}
	switch {
	case keep.LegalHoldAt == nil && gone.LegalHoldAt != nil:
		u.SetLegalHoldAt(*gone.LegalHoldAt).SetLegalHoldReason(gone.LegalHoldReason)
	case keep.LegalHoldAt != nil && gone.LegalHoldAt != nil && gone.LegalHoldReason != keep.LegalHoldReason:
		// Both held: neither reason is lost (the column holds 500 characters).
		reason := keep.LegalHoldReason + "; " + gone.LegalHoldReason
		if r := []rune(reason); len(r) > 500 {
			reason = string(r[:500])
		}
		u.SetLegalHoldReason(reason)
	}
	if merged, err = u.Save(sctx); err != nil {
		return nil, nil, fmt.Errorf("merge %s into %s: %w", gone.ID, keep.ID, err)
	}
	return merged, moved, audit.Record(sctx, tx, audit.Event{
		Action: audit.ActionContactMerged, TargetID: keep.ID,
		Summary: fmt.Sprintf("merged contact %s into %s (one person known by phone and by business-scoped id): %d conversations moved",
			gone.ID, keep.ID, len(moved)),
		Before: []string{keep.ID, gone.ID}, After: keep.ID,
	})
}

// moveRecipients gives keep gone's broadcast recipient rows (a plain
// column): their outcomes, and the marketing sends the frequency cap counts.
// In a broadcast that planned both (one row per contact and broadcast),
// keep's row stays and gone's row keeps gone's id: the one case the cap
// undercounts a merged person.
func moveRecipients(ctx context.Context, tx *ent.Tx, keep, gone string) error {
	shared, err := tx.BroadcastRecipient.Query().Where(broadcastrecipient.ContactID(keep)).
		Select(broadcastrecipient.FieldBroadcastID).Strings(ctx)
	if err != nil {
		return err
	}
	_, err = tx.BroadcastRecipient.Update().Where(broadcastrecipient.ContactID(gone), broadcastrecipient.BroadcastIDNotIn(shared...)).
		Modify(func(u *sql.UpdateBuilder) { u.Set(broadcastrecipient.FieldContactID, keep) }).Save(ctx)
	return err
}

// optRank orders opt-in states for a merge: an opt-out wins.
var optRank = map[entcontact.OptIn]int{
	entcontact.OptInUNKNOWN: 0, entcontact.OptInOPTED_IN: 1, entcontact.OptInOPTED_OUT: 2,
}

func unionTags(a, b []string) []string {
	out := slices.Clone(a)
	for _, t := range b {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		out = out[:MaxTags]
	}
	return out
}

func unionAttributes(a, b []schematype.ContactAttribute) []schematype.ContactAttribute {
	out := slices.Clone(a)
	for _, attr := range b {
		if !slices.ContainsFunc(out, func(o schematype.ContactAttribute) bool { return o.Key == attr.Key }) {
			out = append(out, attr)
		}
	}
	if len(out) > MaxAttributes {
		out = out[:MaxAttributes]
	}
	return out
}
