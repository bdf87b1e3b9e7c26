package connector

import (
	"context"

	"github.com/switchboard-dev/switchboard/contact"
	"github.com/switchboard-dev/switchboard/ent"
	entcontact "github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// customer is who a message is from (or to): Meta names a customer by their
// phone's wa_id, their business-scoped user id (BSUID), or both; a customer
// who adopted a username may come with the BSUID alone.
type customer struct {
	waID, userID, parentUserID, username, profileName string
}

// customerOf is the customer of m, whose phone's wa_id is waID (empty when
// Meta left it out).
func customerOf(m whatsapp.Message, waID string) customer {
	c := customer{waID: waID, userID: m.UserID, parentUserID: m.ParentUserID, username: m.Username, profileName: m.ProfileName}
	if whatsapp.IsBSUID(c.waID) { // addressed by the BSUID where a phone would be
		if c.userID == "" {
			c.userID = c.waID
		}
		c.waID = ""
	}
	return c
}

// contact finds the customer's contact by phone or by BSUID, or creates it,
// and keeps what it learns: a contact first known by one id and now by both
// gets the other; two contacts found to be one person (one by phone, one by
// BSUID) are merged into the older, with their conversations. A contact's
// wa_id is how it is addressed: its phone's wa_id when known, else its BSUID.
// created tells that the contact is new (so it has no conversation yet).
func (in *Ingester) contact(ctx context.Context, tx *ent.Tx, cu customer) (c *ent.Contact, created bool, err error) {
	var byPhone, byUser *ent.Contact
	changed := false
	// in a batch, the contacts its customers name are read once for all
	b := batchOf(ctx)
	var known *knownContacts
	if b.covers(cu.waID) || b.covers(cu.userID) {
		if known, err = b.knownContacts(ctx, tx); err != nil {
			return nil, false, err
		}
	}
	switch {
	case cu.waID == "":
	case known != nil && b.covers(cu.waID):
		byPhone = known.byPhone(cu.waID)
	default:
		if byPhone, err = tx.Contact.Query().Where(entcontact.WaID(cu.waID)).Only(ctx); ent.IsNotFound(err) {
			byPhone, err = nil, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
	switch {
	case cu.userID == "":
	case known != nil && b.covers(cu.userID):
		byUser = known.byUser(cu.userID)
	default:
		byUser, err = tx.Contact.Query().Where(entcontact.Or(entcontact.UserID(cu.userID), entcontact.WaID(cu.userID))).
			Order(ent.Asc(entcontact.FieldCreatedAt)).First(ctx)
		if ent.IsNotFound(err) {
			byUser, err = nil, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
	if byPhone != nil && cu.userID != "" && byPhone.UserID != nil && *byPhone.UserID != cu.userID {
		// The phone's contact is another person (their BSUID differs): the
		// number was given to someone new. The earlier person keeps their
		// contact and history, addressed by their BSUID from now on.
		if err := in.readdress(ctx, tx, byPhone); err != nil {
			return nil, false, err
		}
		byPhone = nil
	}
	c, changed = byPhone, false
	switch {
	case c == nil && byUser == nil:
		c, err := in.newContact(ctx, tx, cu)
		return c, true, err
	case c == nil:
		c = byUser
	case byUser != nil && byUser.ID != byPhone.ID:
		keep, gone := byPhone, byUser
		if gone.CreatedAt.Before(keep.CreatedAt) {
			keep, gone = gone, keep
		}
		if c, err = in.merge(ctx, tx, keep, gone); err != nil {
			return nil, false, err
		}
		in.log.Info("whatsapp: a customer known as two contacts (by phone and by business-scoped id) merged", "contact", keep.ID, "merged", gone.ID)
		changed = true
	}
	u := c.Update()
	if cu.waID != "" && c.WaID != cu.waID && whatsapp.IsBSUID(c.WaID) {
		// known by the BSUID alone until now: the phone is learnt
		u.SetWaID(cu.waID).SetPhone("+" + cu.waID)
		changed = true
	}
	if cu.userID != "" && (c.UserID == nil || *c.UserID != cu.userID) {
		u.SetUserID(cu.userID)
		changed = true
	}
	for _, f := range []struct {
		learnt, known string
		set           func(string) *ent.ContactUpdateOne
	}{
		{cu.profileName, c.ProfileName, u.SetProfileName},
		{cu.username, c.Username, u.SetUsername},
		{cu.parentUserID, c.ParentUserID, u.SetParentUserID},
	} {
		if f.learnt != "" && f.learnt != f.known {
			f.set(f.learnt)
			changed = true
		}
	}
	if !changed {
		return c, false, nil
	}
	b.changed(ctx)
	if c, err = u.Save(ctx); err != nil {
		return nil, false, err
	}
	in.pub.OnCommit(tx, realtime.ContactEvent(c.TenantID, c.ID, realtime.KindUpdated))
	return c, false, nil
}

func (in *Ingester) newContact(ctx context.Context, tx *ent.Tx, cu customer) (*ent.Contact, error) {
	create := tx.Contact.Create().SetProfileName(cu.profileName).SetUsername(cu.username).SetParentUserID(cu.parentUserID)
	if cu.userID != "" {
		create.SetUserID(cu.userID).SetWaID(cu.userID)
	}
	if cu.waID != "" {
		create.SetWaID(cu.waID).SetPhone("+" + cu.waID) // a BSUID reveals no phone
	}
	c, err := create.Save(ctx)
	if err != nil {
		return nil, err
	}
	batchOf(ctx).created(ctx, c)
	in.pub.OnCommit(tx, realtime.ContactEvent(c.TenantID, c.ID, realtime.KindCreated))
	return c, nil
}

// changedNumber follows a customer to their new number: the contact, with
// its conversations and history, is addressed by the new wa_id from now on.
// When the new number is already another contact's, that contact was the
// same person: the two are merged.
func (in *Ingester) changedNumber(ctx context.Context, tx *ent.Tx, c *ent.Contact, newWAID string) error {
	batchOf(ctx).changed(ctx)
	other, err := tx.Contact.Query().Where(entcontact.WaID(newWAID)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
	case err != nil:
		return err
	case other.ID != c.ID && other.UserID != nil && c.UserID != nil && *other.UserID != *c.UserID:
		// Two people (their BSUIDs differ): the number is c's now; the other
		// keeps their contact, addressed by their BSUID.
		if err := in.readdress(ctx, tx, other); err != nil {
			return err
		}
	case other.ID != c.ID:
		keep, gone := c, other
		if gone.CreatedAt.Before(keep.CreatedAt) {
			keep, gone = gone, keep
		}
		if c, err = in.merge(ctx, tx, keep, gone); err != nil {
			return err
		}
		in.log.Info("whatsapp: a customer changed number to one known as another contact; merged", "contact", keep.ID, "merged", gone.ID)
	}
	c, err = c.Update().SetWaID(newWAID).SetPhone("+" + newWAID).Save(ctx)
	if err != nil {
		return err
	}
	in.pub.OnCommit(tx, realtime.ContactEvent(c.TenantID, c.ID, realtime.KindUpdated))
	return nil
}

// readdress addresses c, whose phone now belongs to someone else, by its
// BSUID (c.UserID must be set): the phone is no longer theirs.
func (in *Ingester) readdress(ctx context.Context, tx *ent.Tx, c *ent.Contact) error {
	batchOf(ctx).changed(ctx)
	c, err := c.Update().SetWaID(*c.UserID).ClearPhone().Save(ctx)
	if err != nil {
		return err
	}
	in.log.Info("whatsapp: a phone number passed to another person (a different business-scoped id); the earlier contact keeps its history, addressed by its BSUID", "contact", c.ID)
	in.pub.OnCommit(tx, realtime.ContactEvent(c.TenantID, c.ID, realtime.KindUpdated))
	return nil
}

// merge merges gone into keep (contact.Merge) and tells subscribers that the
// conversations moved changed contact.
func (in *Ingester) merge(ctx context.Context, tx *ent.Tx, keep, gone *ent.Contact) (*ent.Contact, error) {
	batchOf(ctx).changed(ctx)
	c, moved, err := contact.Merge(ctx, tx, keep, gone)
	if err != nil {
		return nil, err
	}
	for _, id := range moved {
		in.pub.OnCommit(tx, conversationEvent(ctx, id, realtime.KindUpdated))
	}
	return c, nil
}
